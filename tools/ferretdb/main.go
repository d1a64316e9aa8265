// Command ferretdb runs FerretDB 1.24 (MongoDB wire protocol) on a PostgreSQL backend.
// It exists because MongoDB is not installable on development and CI machines here;
// production and docker-compose use real MongoDB.
//
// FerretDB pushes an equality filter down as `_jsonb->'f' @> value`, which the btree indexes it
// creates cannot serve, and its prepared statements keep the key as a parameter: every query would
// scan its whole collection. So that an equality costs what it costs on MongoDB (an index probe,
// whatever the collection's size), this command (1) gives every field FerretDB indexes a GIN
// (jsonb_path_ops) index on the same expression, which `@>` can use, created in the same transaction
// as FerretDB's own index by an event trigger, and (2) makes PostgreSQL plan each execution with
// its actual values (plan_cache_mode=force_custom_plan), so that the expression matches the index.
package main

import (
	"context"
	"flag"
	"log"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"github.com/jackc/pgx/v5"
)

// equalityIndexes installs the event trigger and gives the indexes that already exist their GIN twin.
// Idempotent; the advisory lock serialises FerretDB processes starting together on one database.
const equalityIndexes = `
SELECT pg_advisory_xact_lock(7263512);

CREATE OR REPLACE FUNCTION relais_equality_index(idx oid) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  tbl text;
  expr text;
  k int;
BEGIN
  -- Only FerretDB's btree indexes; the GIN ones created here fire this trigger too.
  IF NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.oid = idx AND a.amname = 'btree') THEN
    RETURN;
  END IF;
  SELECT i.indrelid::regclass::text INTO tbl FROM pg_index i WHERE i.indexrelid = idx;
  FOR k IN 1..(SELECT indnatts FROM pg_index WHERE indexrelid = idx) LOOP
    expr := pg_get_indexdef(idx, k, false);
    CONTINUE WHEN expr !~ '^\(*_jsonb (->|#>) ';
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s USING gin ((%s) jsonb_path_ops) WITH (fastupdate = off)',
      'eq_' || md5(tbl || expr), tbl, expr);
  END LOOP;
END
$fn$;

CREATE OR REPLACE FUNCTION relais_on_create_index() RETURNS event_trigger LANGUAGE plpgsql AS $fn$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT objid FROM pg_event_trigger_ddl_commands() WHERE object_type = 'index' LOOP
    PERFORM relais_equality_index(r.objid);
  END LOOP;
END
$fn$;

DROP EVENT TRIGGER IF EXISTS relais_equality_indexes;
CREATE EVENT TRIGGER relais_equality_indexes ON ddl_command_end WHEN TAG IN ('CREATE INDEX')
  EXECUTE FUNCTION relais_on_create_index();

SELECT relais_equality_index(i.indexrelid)
  FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast');
`

func installEqualityIndexes(pgURL string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	// The simple protocol runs the whole script, several statements, in one round trip.
	if _, err := tx.Exec(ctx, equalityIndexes, pgx.QueryExecModeSimpleProtocol); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// withCustomPlans adds plan_cache_mode=force_custom_plan to the connection string's run-time parameters.
func withCustomPlans(pgURL string) (string, error) {
	u, err := url.Parse(pgURL)
	if err != nil {
		return "", err
	}
	q := u.Query()
	if q.Get("plan_cache_mode") == "" {
		q.Set("plan_cache_mode", "force_custom_plan")
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on")
	pg := flag.String("postgresql-url", "postgres://postgres@127.0.0.1:5432/relais", "PostgreSQL connection string")
	flag.Parse()

	pgURL, err := withCustomPlans(*pg)
	if err != nil {
		log.Fatalf("invalid -postgresql-url: %v", err)
	}
	if err := installEqualityIndexes(pgURL); err != nil {
		log.Fatalf("installing equality indexes: %v", err)
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{TCP: *listen},
		Handler:       "postgresql",
		PostgreSQLURL: pgURL,
	})
	if err != nil {
		log.Fatal(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	log.Printf("ferretdb listening on %s (%s)", *listen, f.MongoDBURI())
	if err := f.Run(ctx); err != nil && ctx.Err() == nil {
		log.Fatal(err)
	}
}
