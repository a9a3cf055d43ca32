package roster

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// This file is the one home of the head rule of PRC Civil Code art. 278 as
// the Supreme People's Court's interpretation on building condominium
// disputes (法释〔2009〕7号, amended 2020) arts. 8–9 read it: a unit
// (专有部分) counts as one person, whoever and however many its registered
// owners are, and one owner of several units counts as one person. Who an owner is (name and last
// four ID characters) and which units therefore share a head are decided
// here and nowhere else: the roster import checks a file with CountHeads and
// the voting store groups a motion's electorate with it.

// OwnerKey is who an owner is within one courtyard: the name, with Latin
// letters compared without case (as the database's collation compares
// them), and the last four ID characters ("" when unknown). Two owner
// references with the same key are the same person.
type OwnerKey struct {
	Name   string
	IDTail string
}

// Key returns the owner's identity.
func (o OwnerRef) Key() OwnerKey {
	return OwnerKey{Name: strings.ToLower(strings.TrimSpace(o.Name)), IDTail: strings.ToUpper(strings.TrimSpace(o.IDTail))}
}

// Holding is one unit (household) and its registered owners, as the head
// rule sees it.
type Holding struct {
	// Line is the roster row the unit is on, for error reports; 0 for a
	// unit already stored and not in the file being imported.
	Line int
	// Label names the unit, e.g. "1号楼1单元101".
	Label  string
	Owners []OwnerRef
	// SameNamesakes says that the owners of this unit who have no ID digits
	// are the same persons as their namesakes without ID digits on the other
	// units that say so too (the roster's 同名是同一人 column). Stored units
	// that are not in the file say so: they were resolved when imported.
	SameNamesakes bool
}

// Owner is one distinct owner and the units registered to them.
type Owner struct {
	Name string `json:"name"`
	// IDTail is the last four ID characters when the roster had them; shown
	// to staff only.
	IDTail string   `json:"id_tail,omitempty"`
	Units  []string `json:"units"`
}

// Heads is the outcome of the head rule over a courtyard's (or a scope's)
// units.
type Heads struct {
	// Head[i] is the index of the first unit (in input order) of the head
	// that unit i belongs to; units with the same Head count as one head.
	Head []int
	// Count is the number of heads.
	Count int
	// Owners are the distinct owners in order of first appearance.
	Owners []Owner
	// Problems are owner names that cannot be told apart: the same name
	// without ID digits on several units not marked as one person, or with
	// ID digits on some units and none on others. Only units of the file
	// (Line > 0) carry problems; an import with any must be refused.
	Problems []RowError
}

// SeveralUnits returns the owners registered for more than one unit.
func (h Heads) SeveralUnits() []Owner {
	out := []Owner{}
	for _, o := range h.Owners {
		if len(o.Units) > 1 {
			out = append(out, o)
		}
	}
	return out
}

// ownerColumn is the roster column owner problems are reported on.
const ownerColumn = "业主姓名"

// CountHeads applies the head rule to units:
//
//   - owners are the same person when their OwnerKeys are equal;
//   - a unit counts as one head however many owners it has (co-owners of a
//     unit are one head together);
//   - units that share an owner are one head, and so, transitively, are
//     units linked through a chain of shared owners: no person ever counts
//     towards two heads;
//   - a unit without owners is a head of its own.
//
// It also reports the names it cannot resolve (see Heads.Problems). It is a
// pure function of its input.
func CountHeads(units []Holding) Heads {
	h := Heads{Head: make([]int, len(units)), Owners: []Owner{}}
	parent := make([]int, len(units))
	for i := range parent {
		parent[i] = i
	}
	find := func(x int) int {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	union := func(a, b int) {
		a, b = find(a), find(b)
		switch {
		case a < b:
			parent[b] = a
		case b < a:
			parent[a] = b
		}
	}
	ownerIndex := map[OwnerKey]int{}
	firstUnit := map[OwnerKey]int{}
	for i, u := range units {
		for _, o := range u.Owners {
			k := o.Key()
			if k.Name == "" {
				continue
			}
			if first, ok := firstUnit[k]; ok {
				union(first, i)
			} else {
				firstUnit[k] = i
			}
			idx, ok := ownerIndex[k]
			if !ok {
				idx = len(h.Owners)
				ownerIndex[k] = idx
				h.Owners = append(h.Owners, Owner{Name: strings.TrimSpace(o.Name), IDTail: k.IDTail})
			}
			if labels := h.Owners[idx].Units; len(labels) == 0 || labels[len(labels)-1] != u.Label {
				h.Owners[idx].Units = append(h.Owners[idx].Units, u.Label)
			}
		}
	}
	for i := range units {
		h.Head[i] = find(i)
		if h.Head[i] == i {
			h.Count++
		}
	}
	h.Problems = namesakeProblems(units)
	return h
}

// occurrence is one unit on which a name appears.
type occurrence struct {
	unit   int
	idTail string
}

// namesakeProblems finds the names that cannot be told apart.
func namesakeProblems(units []Holding) []RowError {
	byName := map[string][]occurrence{}
	var names []string
	for i, u := range units {
		for _, o := range u.Owners {
			k := o.Key()
			if k.Name == "" {
				continue
			}
			occ := byName[k.Name]
			if n := len(occ); n > 0 && occ[n-1].unit == i && occ[n-1].idTail == k.IDTail {
				continue // the same owner twice on one unit
			}
			if occ == nil {
				names = append(names, k.Name)
			}
			byName[k.Name] = append(occ, occurrence{unit: i, idTail: k.IDTail})
		}
	}
	var problems []RowError
	for _, name := range names {
		occ := byName[name]
		var withTail, without []occurrence
		for _, o := range occ {
			if o.idTail == "" {
				without = append(without, o)
			} else {
				withTail = append(withTail, o)
			}
		}
		display := ownerName(units, occ[0].unit, name)
		switch {
		case len(withTail) > 0 && len(without) > 0:
			reason := fmt.Sprintf("业主“%s”出现在%s，有的填了证件后四位，有的没有填，无法判断是不是同一人：请在每一处都填写这位业主的证件后四位（同名的不同业主填各自的）", display, places(units, occ))
			report := without
			if !anyInFile(units, without) {
				report = withTail
			}
			problems = appendProblems(problems, units, report, reason)
		case len(without) > 1 && distinctUnits(without) > 1:
			var unmarked []occurrence
			for _, o := range without {
				if !units[o.unit].SameNamesakes {
					unmarked = append(unmarked, o)
				}
			}
			if len(unmarked) == 0 {
				continue
			}
			reason := fmt.Sprintf("业主“%s”出现在%s，都没有填证件后四位，无法判断是不是同一人：如果是同名的不同业主，请填写各自的证件后四位；如果是同一人有几套房，请在这几行的“同名是同一人”列填“是”", display, places(units, without))
			problems = appendProblems(problems, units, unmarked, reason)
		}
	}
	sort.SliceStable(problems, func(i, j int) bool { return problems[i].Row < problems[j].Row })
	return problems
}

// ownerName is the name as written on the unit where it first appears.
func ownerName(units []Holding, i int, key string) string {
	for _, o := range units[i].Owners {
		if o.Key().Name == key {
			return strings.TrimSpace(o.Name)
		}
	}
	return key
}

// maxPlaces is how many places a reason lists before "等N处", so that a
// name on thousands of rows does not make every row's reason as long.
const maxPlaces = 10

// places lists where a name appears, in words: "第3行、第8行、1号楼1单元101（已导入，不在本文件中）".
func places(units []Holding, occ []occurrence) string {
	var parts []string
	seen := map[int]bool{}
	for _, o := range occ {
		if seen[o.unit] {
			continue
		}
		seen[o.unit] = true
		if len(parts) == maxPlaces {
			continue
		}
		u := units[o.unit]
		if u.Line > 0 {
			parts = append(parts, "第"+strconv.Itoa(u.Line)+"行")
		} else {
			parts = append(parts, u.Label+"（已导入，不在本文件中）")
		}
	}
	if len(seen) > maxPlaces {
		return strings.Join(parts, "、") + fmt.Sprintf("等%d处", len(seen))
	}
	return strings.Join(parts, "、")
}

func anyInFile(units []Holding, occ []occurrence) bool {
	for _, o := range occ {
		if units[o.unit].Line > 0 {
			return true
		}
	}
	return false
}

func distinctUnits(occ []occurrence) int {
	seen := map[int]bool{}
	for _, o := range occ {
		seen[o.unit] = true
	}
	return len(seen)
}

// appendProblems adds reason once for each file row among occ.
func appendProblems(problems []RowError, units []Holding, occ []occurrence, reason string) []RowError {
	seen := map[int]bool{}
	for _, o := range occ {
		line := units[o.unit].Line
		if line <= 0 || seen[line] {
			continue
		}
		seen[line] = true
		problems = append(problems, RowError{Row: line, Column: ownerColumn, Reason: reason})
	}
	return problems
}
