-- 0009: the autoscaling signal (issue 7, design §5), written by the
-- scheduler each round so the api can serve GET /v1/admin/scaling without
-- talking to the broker. One row per queue class plus 'all'.
CREATE TABLE scaling_signal (
    class               text PRIMARY KEY,
    ready_messages      bigint NOT NULL,
    running_jobs        bigint NOT NULL,
    oldest_queued_secs  double precision NOT NULL,
    desired_workers     integer NOT NULL,
    computed_at         timestamptz NOT NULL DEFAULT now()
);
