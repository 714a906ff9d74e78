-- proof: why is it empty? certification is younger than its policy's max_age (lists stale ones)
-- group: troubleshooting
-- expect: rows = 0
SELECT c.entrypoint, c.status, now() - c.certified_at AS age, p.max_age
FROM audit.t0_cert_registry AS c
JOIN audit.t0_entrypoint_policy AS p ON p.entrypoint = c.entrypoint
WHERE c.status <> 'CERTIFIED' OR c.certified_at < now() - p.max_age;
