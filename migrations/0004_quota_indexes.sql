-- 0004: indexes behind the plan quotas checked at submit (issue 4): a
-- tenant's queued jobs (the queued-jobs cap, 429) and its live lattices
-- (the lattices cap). Jobs this month use jobs_tenant_created.
CREATE INDEX jobs_tenant_queued ON jobs (tenant_id) WHERE status = 'queued';
