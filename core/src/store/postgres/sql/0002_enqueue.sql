-- enqueue(name, args, options, idempotency_key): enqueue inside an application's own
-- transaction. The job exists if and only if that transaction commits, and the NOTIFY that wakes
-- workers is delivered on commit. Same defaults, limits and messages as the engine
-- (core/src/job/options.rs); every refusal is SQLSTATE 22023 (invalid_parameter_value).
CREATE FUNCTION enqueue(
    p_name text,
    p_args jsonb DEFAULT '[]'::jsonb,
    p_options jsonb DEFAULT '{}'::jsonb,
    p_idempotency_key text DEFAULT NULL
) RETURNS text
LANGUAGE plpgsql
-- Resolves the tables in this schema whatever the caller's search_path is.
SET search_path FROM CURRENT
AS $fn$
DECLARE
    o jsonb := coalesce(p_options, '{}'::jsonb);
    k text;
    now_ms bigint := (extract(epoch from clock_timestamp()) * 1000)::bigint;
    v_id text;
    v_hex text;
    v_args bytea;
    v_max_attempts bigint := 3;
    v_backoff text := 'exponential';
    v_initial bigint := 1000;
    v_max_delay bigint := 60000;
    v_jitter double precision := 0.1;
    v_timeout bigint := 30000;
    v_priority integer := 0;
    v_run_at bigint;
    v_inserted integer;
BEGIN
    IF p_name IS NULL OR p_name = '' THEN
        RAISE EXCEPTION 'name must not be empty' USING ERRCODE = '22023';
    END IF;
    IF octet_length(p_name) > 255 THEN
        RAISE EXCEPTION 'name is % bytes; the limit is 255', octet_length(p_name) USING ERRCODE = '22023';
    END IF;
    IF p_args IS NULL OR jsonb_typeof(p_args) <> 'array' THEN
        RAISE EXCEPTION 'args must be a JSON array of the function arguments' USING ERRCODE = '22023';
    END IF;
    v_args := convert_to(p_args::text, 'UTF8');
    IF octet_length(v_args) > 1048576 THEN
        RAISE EXCEPTION 'args is % bytes; the limit is 1048576', octet_length(v_args) USING ERRCODE = '22023';
    END IF;
    IF jsonb_typeof(o) <> 'object' THEN
        RAISE EXCEPTION 'options must be a JSON object' USING ERRCODE = '22023';
    END IF;
    FOR k IN SELECT jsonb_object_keys(o) LOOP
        IF k NOT IN ('max_attempts', 'backoff', 'initial_delay_ms', 'max_delay_ms', 'jitter',
                     'timeout_ms', 'delay_ms', 'run_at_ms', 'priority') THEN
            RAISE EXCEPTION 'unknown job option "%"', k USING ERRCODE = '22023';
        END IF;
    END LOOP;
    BEGIN
        v_max_attempts := coalesce((o->>'max_attempts')::bigint, v_max_attempts);
        v_initial := coalesce((o->>'initial_delay_ms')::bigint, v_initial);
        v_max_delay := coalesce((o->>'max_delay_ms')::bigint, v_max_delay);
        v_jitter := coalesce((o->>'jitter')::double precision, v_jitter);
        v_timeout := coalesce((o->>'timeout_ms')::bigint, v_timeout);
        v_priority := coalesce((o->>'priority')::integer, v_priority);
    EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range THEN
        RAISE EXCEPTION 'job options must be numbers where numbers are expected: %', SQLERRM USING ERRCODE = '22023';
    END;
    IF v_max_attempts < 1 OR v_max_attempts > 2147483647 THEN
        RAISE EXCEPTION 'max_attempts must be between 1 and 2147483647, got %', v_max_attempts USING ERRCODE = '22023';
    END IF;
    IF o ? 'backoff' THEN
        v_backoff := lower(o->>'backoff');
        IF v_backoff NOT IN ('fixed', 'linear', 'exponential') THEN
            RAISE EXCEPTION 'backoff must be one of fixed, linear, exponential; got "%"', o->>'backoff' USING ERRCODE = '22023';
        END IF;
    END IF;
    IF v_initial < 0 THEN
        RAISE EXCEPTION 'initial_delay_ms must be >= 0, got %', v_initial USING ERRCODE = '22023';
    END IF;
    IF v_max_delay < 0 THEN
        RAISE EXCEPTION 'max_delay_ms must be >= 0, got %', v_max_delay USING ERRCODE = '22023';
    END IF;
    IF v_jitter < 0 OR v_jitter > 1 THEN
        RAISE EXCEPTION 'jitter must be between 0.0 and 1.0, got %', v_jitter USING ERRCODE = '22023';
    END IF;
    IF v_timeout < 1 OR v_timeout > 2592000000 THEN
        RAISE EXCEPTION 'timeout_ms must be between 1 and 2592000000 (30 days), got %', v_timeout USING ERRCODE = '22023';
    END IF;
    IF o ? 'delay_ms' AND o ? 'run_at_ms' THEN
        RAISE EXCEPTION 'give delay_ms or run_at_ms, not both' USING ERRCODE = '22023';
    ELSIF o ? 'delay_ms' THEN
        IF (o->>'delay_ms')::bigint < 0 THEN
            RAISE EXCEPTION 'delay_ms must be >= 0, got %', o->>'delay_ms' USING ERRCODE = '22023';
        END IF;
        v_run_at := now_ms + (o->>'delay_ms')::bigint;
    ELSIF o ? 'run_at_ms' THEN
        v_run_at := (o->>'run_at_ms')::bigint;
        IF v_run_at < 0 THEN
            RAISE EXCEPTION 'run_at_ms must be >= 0, got %', v_run_at USING ERRCODE = '22023';
        END IF;
    ELSE
        v_run_at := now_ms;
    END IF;
    IF p_idempotency_key = '' THEN
        RAISE EXCEPTION 'idempotency_key must not be empty (leave it NULL for none)' USING ERRCODE = '22023';
    END IF;
    IF octet_length(p_idempotency_key) > 255 THEN
        RAISE EXCEPTION 'idempotency_key is % bytes; the limit is 255', octet_length(p_idempotency_key) USING ERRCODE = '22023';
    END IF;
    -- A UUIDv7 like the engine's ids: 48 bits of Unix ms, the version 7, then random bits.
    v_hex := lpad(to_hex(now_ms), 12, '0') || '7' || substr(replace(gen_random_uuid()::text, '-', ''), 14);
    v_id := substr(v_hex, 1, 8) || '-' || substr(v_hex, 9, 4) || '-' || substr(v_hex, 13, 4) || '-'
         || substr(v_hex, 17, 4) || '-' || substr(v_hex, 21, 12);
    INSERT INTO reseolio_jobs (id, name, args, status, priority, attempt, max_attempts, backoff,
        initial_delay_ms, max_delay_ms, jitter, timeout_ms, idempotency_key, created_at, run_at)
    VALUES (v_id, p_name, v_args, 'PENDING', v_priority, 0, v_max_attempts, v_backoff, v_initial,
        v_max_delay, v_jitter, v_timeout, p_idempotency_key, now_ms, v_run_at)
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS v_inserted = ROW_COUNT;
    IF v_inserted = 0 THEN
        -- The unique (name, idempotency_key) index: the first job's id.
        SELECT id INTO v_id FROM reseolio_jobs
            WHERE name = p_name AND idempotency_key = p_idempotency_key;
        RETURN v_id;
    END IF;
    IF v_run_at <= now_ms THEN
        PERFORM pg_notify(left('reseolio_' || current_schema(), 63), 'a');
    END IF;
    RETURN v_id;
END
$fn$
