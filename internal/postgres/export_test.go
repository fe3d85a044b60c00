package postgres

import (
	"context"
	"fmt"
)

// MigrateOnly applies one migration alone, as if it had been merged and
// applied before the ones under it (TestMigrationsFillAGap).
func (db *DB) MigrateOnly(ctx context.Context, version int) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.version == version {
			_, err := db.Pool.Exec(ctx, m.up+`; INSERT INTO schema_migrations (version, name) VALUES (`+fmt.Sprint(m.version)+`, '`+m.name+`')`)
			return err
		}
	}
	return fmt.Errorf("no migration %d", version)
}

// Versions are the migrations' numbers, in order.
func Versions() []int {
	ms, _ := migrations()
	out := make([]int, len(ms))
	for i, m := range ms {
		out[i] = m.version
	}
	return out
}
