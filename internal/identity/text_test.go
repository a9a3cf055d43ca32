package identity

import (
	"context"
	"testing"

	"github.com/louyuan/louyuan/internal/louyuan"
)

// TestCreateStaffRefusesInvisibleCharacters: a staff member's name is shown
// on exports and audit views; NUL, control characters and bidirectional
// overrides are refused with a message naming the field.
func TestCreateStaffRefusesInvisibleCharacters(t *testing.T) {
	svc, _, _ := newTestService(t)
	for _, name := range []string{"张\u202E三", "张\x00三", "张三\x1b", "\u2066张三"} {
		_, err := svc.CreateStaff(context.Background(), "cli", "zhangsan", name, "a-long-password")
		var e *louyuan.Error
		if !louyuan.AsError(err, &e) || e.Code != louyuan.CodeUnsafeText || e.Message[:len("姓名中有")] != "姓名中有" {
			t.Errorf("CreateStaff(%q) = %v, want %s naming 姓名", name, err, louyuan.CodeUnsafeText)
		}
	}
	if _, err := svc.CreateStaff(context.Background(), "cli", "zhangsan", "张三", "a-long-password"); err != nil {
		t.Errorf("CreateStaff of a clean name: %v", err)
	}
}
