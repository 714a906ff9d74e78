-- proof: why is it empty? every policy entrypoint is certified within its max_age (lists the others)
-- group: troubleshooting
-- expect: rows = 0
SELECT p.entrypoint, coalesce(c.status, '(never certified)') AS status,
       now() - c.certified_at AS age, p.max_age
FROM audit.t0_entrypoint_policy AS p
LEFT JOIN audit.t0_cert_registry AS c ON c.entrypoint = p.entrypoint
WHERE c.entrypoint IS NULL OR c.status <> 'CERTIFIED' OR c.certified_at < now() - p.max_age;
