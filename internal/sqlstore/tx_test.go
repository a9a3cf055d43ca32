package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"testing"

	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/testenv"
)

// A pipelined transaction (the ballot path's, on MySQL) begins and commits
// with statements of its own. Whatever happens inside it — a statement
// that fails in the middle of a pipeline, a deferred write that fails, fn's
// own error, a panic — nothing it sent stays written and its connection
// goes back to the pool with no transaction open.
func TestPipelinedTransaction(t *testing.T) {
	t.Parallel()
	db := migrated(t, openMySQL(t, testenv.MySQL(t)))
	rc, err := db.readCommitted.DB()
	must(t, err)
	rc.SetMaxOpenConns(1) // every transaction below runs on this one connection
	ctx := context.Background()

	openTransaction := func() bool {
		t.Helper()
		c, err := rc.Conn(ctx)
		must(t, err)
		defer c.Close()
		var n int
		must(t, c.QueryRowContext(ctx, "SELECT @@in_transaction").Scan(&n))
		return n != 0
	}
	exists := func(stream string) bool {
		t.Helper()
		var n int64
		must(t, db.DB.Raw("SELECT COUNT(*) FROM audit_heads WHERE stream = ?", stream).Scan(&n).Error)
		return n > 0
	}
	insert := func(stream string) string {
		return "INSERT INTO audit_heads (stream, seq, hash) VALUES ('" + stream + "', 0, '" + audit.Genesis + "')"
	}
	ints := func(into *[]int) func(*sql.Rows) error {
		return func(rows *sql.Rows) error {
			for rows.Next() {
				var v int
				if err := rows.Scan(&v); err != nil {
					return err
				}
				*into = append(*into, v)
			}
			return nil
		}
	}

	// Result sets are read in order, statements without rows in between;
	// START TRANSACTION travels with the first, COMMIT with the last.
	var first, second []int
	must(t, db.InTxReadCommitted(ctx, func(ctx context.Context) error {
		p := db.pipeline()
		p.query(ints(&first), "SELECT 1 UNION ALL SELECT 2")
		p.exec(insert("pipe:a"))
		p.query(ints(&second), "SELECT seq FROM audit_heads WHERE stream = ?", "pipe:a")
		if err := db.run(ctx, p); err != nil {
			return err
		}
		return db.execLater(ctx, insert("pipe:b"))
	}))
	if !slices.Equal(first, []int{1, 2}) || !slices.Equal(second, []int{0}) || !exists("pipe:a") || !exists("pipe:b") {
		t.Fatalf("pipeline read %v and %v; rows written: %v %v", first, second, exists("pipe:a"), exists("pipe:b"))
	}
	if openTransaction() {
		t.Fatal("a committed transaction left its connection inside a transaction")
	}

	cases := []struct {
		name string
		fn   func(ctx context.Context) error
	}{
		{"a statement fails after rows were read", func(ctx context.Context) error {
			p := db.pipeline()
			var got []int
			p.query(ints(&got), "SELECT 1")
			p.exec(insert("pipe:c"))
			p.exec(insert("pipe:a")) // duplicate key
			return db.run(ctx, p)
		}},
		{"a deferred write fails", func(ctx context.Context) error {
			if err := db.conn(ctx).Exec(insert("pipe:c")).Error; err != nil {
				return err
			}
			return db.execLater(ctx, insert("pipe:a"))
		}},
		{"fn fails", func(ctx context.Context) error {
			if err := db.conn(ctx).Exec(insert("pipe:c")).Error; err != nil {
				return err
			}
			return errors.New("refused")
		}},
	}
	for _, c := range cases {
		if err := db.InTxReadCommitted(ctx, c.fn); err == nil {
			t.Errorf("%s: no error", c.name)
		}
		if exists("pipe:c") {
			t.Errorf("%s: a row of the failed transaction was kept", c.name)
		}
		if openTransaction() {
			t.Fatalf("%s: the connection went back to the pool inside a transaction", c.name)
		}
	}

	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic did not reach the caller")
			}
		}()
		_ = db.InTxReadCommitted(ctx, func(ctx context.Context) error {
			must(t, db.conn(ctx).Exec(insert("pipe:c")).Error)
			panic("bug")
		})
	}()
	if exists("pipe:c") || openTransaction() {
		t.Fatal("after a panic: the row was kept or the connection is inside a transaction")
	}
}
