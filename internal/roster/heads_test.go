package roster

import (
	"slices"
	"strings"
	"testing"
)

// u builds a holding from "name" or "name/tail" owner specs.
func u(line int, label string, same bool, owners ...string) Holding {
	h := Holding{Line: line, Label: label, SameNamesakes: same}
	for _, o := range owners {
		name, tail, _ := strings.Cut(o, "/")
		h.Owners = append(h.Owners, OwnerRef{Name: name, IDTail: tail})
	}
	return h
}

func TestCountHeads(t *testing.T) {
	type want struct {
		head     []int
		count    int
		owners   int
		several  []string // "name:units" of owners of several units
		problems []int    // rows with a problem
	}
	cases := []struct {
		name  string
		units []Holding
		want  want
	}{
		{"empty", nil, want{head: []int{}, count: 0}},
		{"one unit, one owner", []Holding{u(2, "A", false, "张三")}, want{head: []int{0}, count: 1, owners: 1}},
		{"unit without owners is its own head", []Holding{u(2, "A", false), u(3, "B", false)}, want{head: []int{0, 1}, count: 2}},
		{"co-owners of one unit are one head", []Holding{u(2, "A", false, "刘宗敏", "李秀英")}, want{head: []int{0}, count: 1, owners: 2}},
		{"distinct owners, distinct heads", []Holding{u(2, "A", false, "张三"), u(3, "B", false, "李四")}, want{head: []int{0, 1}, count: 2, owners: 2}},
		{"same name, same tail: one person, one head",
			[]Holding{u(2, "A", false, "张三/1234"), u(3, "B", false, "张三/1234")},
			want{head: []int{0, 0}, count: 1, owners: 1, several: []string{"张三:A,B"}}},
		{"same name, different tails: two people",
			[]Holding{u(2, "A", false, "张三/1234"), u(3, "B", false, "张三/567X")},
			want{head: []int{0, 1}, count: 2, owners: 2}},
		{"tail compared without case", []Holding{u(2, "A", false, "张三/123x"), u(3, "B", false, "张三/123X")},
			want{head: []int{0, 0}, count: 1, owners: 1, several: []string{"张三:A,B"}}},
		{"latin name compared without case (as the database does)", []Holding{u(2, "A", false, "Zhang San/1234"), u(3, "B", false, "zhang san/1234")},
			want{head: []int{0, 0}, count: 1, owners: 1, several: []string{"Zhang San:A,B"}}},
		{"same name without digits, not marked: refused on both rows",
			[]Holding{u(2, "A", false, "张三"), u(3, "B", false, "张三")},
			want{head: []int{0, 0}, count: 1, owners: 1, several: []string{"张三:A,B"}, problems: []int{2, 3}}},
		{"same name without digits, one row marked: refused on the other",
			[]Holding{u(2, "A", true, "张三"), u(3, "B", false, "张三")},
			want{head: []int{0, 0}, count: 1, owners: 1, several: []string{"张三:A,B"}, problems: []int{3}}},
		{"same name without digits, all rows marked: one person",
			[]Holding{u(2, "A", true, "王春芬"), u(3, "B", false, "李四"), u(4, "C", true, "王春芬")},
			want{head: []int{0, 1, 0}, count: 2, owners: 2, several: []string{"王春芬:A,C"}}},
		{"digits on some rows, none on others: refused on the rows without",
			[]Holding{u(2, "A", false, "张三/1234"), u(3, "B", true, "张三"), u(4, "C", false, "张三/1234")},
			want{head: []int{0, 1, 0}, count: 2, owners: 2, several: []string{"张三:A,C"}, problems: []int{3}}},
		{"mark does not excuse missing digits when the name has digits elsewhere",
			[]Holding{u(2, "A", true, "张三/1234"), u(3, "B", true, "张三")},
			want{head: []int{0, 1}, count: 2, owners: 2, problems: []int{3}}},
		{"marked row without namesakes is fine", []Holding{u(2, "A", true, "张三")}, want{head: []int{0}, count: 1, owners: 1}},
		{"same owner twice on one unit counts once and is no namesake problem",
			[]Holding{u(2, "A", false, "张三", "张三")}, want{head: []int{0}, count: 1, owners: 1}},
		{"owner of several units joins them",
			[]Holding{u(2, "A", false, "王春芬"), u(3, "B", false, "李四"), u(4, "C", false, "王春芬/"), u(5, "D", false, "赵六")},
			want{head: []int{0, 1, 0, 3}, count: 3, owners: 3, several: []string{"王春芬:A,C"}, problems: []int{2, 4}}},
		{"transitive: co-owners linking three units make one head",
			[]Holding{u(2, "A", false, "甲/0001", "乙/0002"), u(3, "B", false, "乙/0002", "丙/0003"), u(4, "C", false, "丙/0003"), u(5, "D", false, "丁/0004")},
			want{head: []int{0, 0, 0, 3}, count: 2, owners: 4, several: []string{"乙:A,B", "丙:B,C"}}},
		{"chain joined late still names the group by its first unit",
			[]Holding{u(2, "A", false, "甲/0001"), u(3, "B", false, "乙/0002"), u(4, "C", false, "丙/0003"), u(5, "D", false, "丙/0003", "甲/0001"), u(6, "E", false, "乙/0002", "丙/0003")},
			want{head: []int{0, 0, 0, 0, 0}, count: 1, owners: 3, several: []string{"甲:A,D", "乙:B,E", "丙:C,D,E"}}},
		{"stored unit not in the file counts as marked; the file row must be marked too",
			[]Holding{u(0, "1号楼1单元101", true, "张三"), u(7, "B", false, "张三")},
			want{head: []int{0, 0}, count: 1, owners: 1, several: []string{"张三:1号楼1单元101,B"}, problems: []int{7}}},
		{"stored unit and a marked file row: one person",
			[]Holding{u(0, "1号楼1单元101", true, "张三"), u(7, "B", true, "张三")},
			want{head: []int{0, 0}, count: 1, owners: 1, several: []string{"张三:1号楼1单元101,B"}}},
		{"stored unit without digits, file row with digits: refused on the file row",
			[]Holding{u(0, "1号楼1单元101", true, "张三"), u(7, "B", false, "张三/1234")},
			want{head: []int{0, 1}, count: 2, owners: 2, problems: []int{7}}},
		{"namesakes only among stored units are not the file's problem",
			[]Holding{u(0, "X", true, "张三"), u(0, "Y", false, "张三"), u(2, "Z", false, "李四")},
			want{head: []int{0, 0, 2}, count: 2, owners: 2, several: []string{"张三:X,Y"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := CountHeads(tc.units)
			if !slices.Equal(h.Head, tc.want.head) {
				t.Errorf("Head = %v, want %v", h.Head, tc.want.head)
			}
			if h.Count != tc.want.count {
				t.Errorf("Count = %d, want %d", h.Count, tc.want.count)
			}
			if len(h.Owners) != tc.want.owners {
				t.Errorf("%d owners (%+v), want %d", len(h.Owners), h.Owners, tc.want.owners)
			}
			var several []string
			for _, o := range h.SeveralUnits() {
				several = append(several, o.Name+":"+strings.Join(o.Units, ","))
			}
			if !slices.Equal(several, tc.want.several) {
				t.Errorf("owners of several units = %v, want %v", several, tc.want.several)
			}
			var rows []int
			for _, p := range h.Problems {
				rows = append(rows, p.Row)
				if p.Column != "业主姓名" || !strings.Contains(p.Reason, "证件后四位") {
					t.Errorf("problem %+v: want column 业主姓名 and a reason asking for ID digits", p)
				}
			}
			if !slices.Equal(rows, tc.want.problems) {
				t.Errorf("problems on rows %v, want %v: %+v", rows, tc.want.problems, h.Problems)
			}
		})
	}
}

func TestCountHeadsProblemWording(t *testing.T) {
	h := CountHeads([]Holding{u(3, "A", false, "张三"), u(8, "B", false, "张三"), u(0, "1号楼1单元101", true, "李四"), u(9, "C", false, "李四/1234")})
	if len(h.Problems) != 3 {
		t.Fatalf("problems: %+v", h.Problems)
	}
	if r := h.Problems[0].Reason; !strings.Contains(r, "“张三”") || !strings.Contains(r, "第3行、第8行") || !strings.Contains(r, "同名是同一人") {
		t.Errorf("namesake reason: %s", r)
	}
	if r := h.Problems[2].Reason; h.Problems[2].Row != 9 || !strings.Contains(r, "1号楼1单元101（已导入，不在本文件中）") || !strings.Contains(r, "第9行") {
		t.Errorf("mixed-digits reason: %+v", h.Problems[2])
	}
}

func TestOwnerKey(t *testing.T) {
	if (OwnerRef{Name: " 张三 ", IDTail: "123x"}).Key() != (OwnerRef{Name: "张三", IDTail: "123X"}).Key() {
		t.Error("keys differ by spaces or the case of X")
	}
	if (OwnerRef{Name: "张三"}).Key() == (OwnerRef{Name: "张三", IDTail: "1234"}).Key() {
		t.Error("an owner without digits has the key of one with digits")
	}
}

func TestCountHeadsLongPlaceList(t *testing.T) {
	var units []Holding
	for i := range 50 {
		units = append(units, u(i+2, "X", false, "张三"))
	}
	h := CountHeads(units)
	if len(h.Problems) != 50 {
		t.Fatalf("%d problems, want 50", len(h.Problems))
	}
	if r := h.Problems[0].Reason; !strings.Contains(r, "第2行、第3行") || !strings.Contains(r, "第11行等50处") || strings.Contains(r, "第12行") {
		t.Errorf("reason lists: %s", r)
	}
}
