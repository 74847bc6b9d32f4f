-- Issue 9: the device a worker computes on, for the fleet view
-- (GET /v1/admin/workers) and the operators' GPU status. `device` stays
-- 'cpu' or 'cuda'; these name the card and its memory ('cuda' only).
ALTER TABLE workers
    ADD COLUMN device_name text,
    ADD COLUMN device_memory_bytes bigint;

-- GPU plans' jobs travel on their own queue class (design §2: GPU workers
-- prefer it, CPU workers drain it when no GPU worker has room).
ALTER TABLE jobs DROP CONSTRAINT jobs_queue_class_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_queue_class_check
    CHECK (queue_class IN ('low', 'standard', 'high', 'gpu'));
