-- 0025: the dependency duty's sweep over waiting jobs (0024), in id order.
CREATE INDEX jobs_waiting ON jobs (id) WHERE status = 'waiting';
