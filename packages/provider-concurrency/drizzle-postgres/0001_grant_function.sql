-- Hand-written (drizzle-kit generate --custom): the grant as one function, so that each acquire and
-- each release is one round trip and the provider's row is locked only while the function runs.
-- In one call, atomically: queue a waiter (p_waiter, optional), give back a lease (p_release,
-- optional), lock the provider's row, drop expired leases and waiters, and turn the first
-- (limit - leases held) waiters, starred or aged first, then oldest prompt, then arrival, into
-- leases, announcing each grant on provider_concurrency_granted (delivered at COMMIT).
CREATE FUNCTION provider_concurrency_grant(
  p_provider text,
  p_limit integer,
  p_aging_ms bigint,
  p_ttl_ms bigint,
  p_instance text,
  p_release text,
  p_waiter jsonb
) RETURNS TABLE (in_flight integer, lease_ids text[], waiter_ids text[], instance_ids text[])
LANGUAGE plpgsql AS $$
DECLARE
  v_now bigint := (extract(epoch from clock_timestamp()) * 1000)::bigint;
  v_max integer;
  v_cooling bigint;
  v_held integer;
  v_free integer;
  v_leases text[] := '{}';
  v_waiters text[] := '{}';
  v_instances text[] := '{}';
BEGIN
  IF p_waiter IS NOT NULL THEN
    INSERT INTO provider_concurrency_waiters
      (id, provider_id, instance_id, workspace_id, starred, prompt_started_at, turn_id, conversation_id, expires_at)
    VALUES (p_waiter->>'id', p_provider, p_instance, p_waiter->>'workspaceId', (p_waiter->>'starred')::boolean,
      (p_waiter->>'promptStartedAt')::bigint, p_waiter->>'turnId', p_waiter->>'conversationId', v_now + p_ttl_ms);
  END IF;
  IF p_release IS NOT NULL THEN
    DELETE FROM provider_concurrency_leases WHERE id = p_release;
  END IF;
  INSERT INTO provider_concurrency_limits (provider_id, max_concurrent) VALUES (p_provider, p_limit)
    ON CONFLICT (provider_id) DO NOTHING;
  SELECT l.max_concurrent, l.cooling_until INTO v_max, v_cooling
    FROM provider_concurrency_limits l WHERE l.provider_id = p_provider FOR UPDATE;
  DELETE FROM provider_concurrency_leases l WHERE l.provider_id = p_provider AND l.expires_at < v_now;
  DELETE FROM provider_concurrency_waiters w WHERE w.provider_id = p_provider AND w.expires_at < v_now;
  SELECT count(*)::integer INTO v_held FROM provider_concurrency_leases l WHERE l.provider_id = p_provider;
  v_free := CASE WHEN v_cooling IS NOT NULL AND v_cooling > v_now THEN 0 ELSE v_max - v_held END;
  IF v_free > 0 THEN
    WITH chosen AS (
      SELECT w.id FROM provider_concurrency_waiters w WHERE w.provider_id = p_provider
      ORDER BY (w.starred OR w.prompt_started_at < v_now - p_aging_ms) DESC, w.prompt_started_at, w.seq
      LIMIT v_free
    ), taken AS (
      DELETE FROM provider_concurrency_waiters w USING chosen WHERE w.id = chosen.id RETURNING w.*
    ), granted AS (
      INSERT INTO provider_concurrency_leases
        (id, provider_id, instance_id, waiter_id, workspace_id, turn_id, granted_at, expires_at)
      SELECT 'l' || substr(taken.id, 2), taken.provider_id, taken.instance_id, taken.id, taken.workspace_id,
        taken.turn_id, v_now, v_now + p_ttl_ms
      FROM taken
      RETURNING id, waiter_id, instance_id
    )
    SELECT coalesce(array_agg(g.id), '{}'), coalesce(array_agg(g.waiter_id), '{}'), coalesce(array_agg(g.instance_id), '{}')
      INTO v_leases, v_waiters, v_instances FROM granted g;
    FOR i IN 1 .. coalesce(array_length(v_leases, 1), 0) LOOP
      PERFORM pg_notify('provider_concurrency_granted',
        v_instances[i] || ' ' || v_waiters[i] || ' ' || v_leases[i] || ' ' || p_provider);
    END LOOP;
  END IF;
  RETURN QUERY SELECT v_held + coalesce(array_length(v_leases, 1), 0), v_leases, v_waiters, v_instances;
END;
$$;
