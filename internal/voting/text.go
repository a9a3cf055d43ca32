package voting

import "github.com/louyuan/louyuan/internal/louyuan"

// candidateFields names each election candidate for louyuan.CheckTexts.
func candidateFields(candidates []string) []louyuan.TextField {
	out := make([]louyuan.TextField, len(candidates))
	for i, c := range candidates {
		out[i] = louyuan.TextField{Name: "候选人姓名", Value: c}
	}
	return out
}
