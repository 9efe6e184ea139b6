package eval

import (
	"math"
)

// AuditResult is the fairness audit of one model's rankings at one consent
// rate.
type AuditResult struct {
	Model       string        `json:"model"`
	ConsentRate float64       `json:"consent_rate"`
	Groups      []GroupResult `json:"groups"`
}

// GroupResult compares one demographic group's quality and exposure (see
// the package comment for the definitions).
type GroupResult struct {
	Attribute string `json:"attribute"` // "gender" or "age"
	Group     string `json:"group"`
	// Users counts the dataset's users in the group.
	Users int `json:"users"`
	// RatingShare is the group's share of the ratings (of users whose
	// attribute is known).
	RatingShare float64 `json:"rating_share"`
	// ExposureShare is the group's share of the audience of the exposure:
	// the position-discounted mean, over every slot of every list, of the
	// share of the item's raters who belong to the group. Its neutral value
	// is RatingShare.
	ExposureShare float64 `json:"exposure_share"`
	// LedItemShare is the share of the catalogue the group leads, and
	// LedExposureShare the share of position-discounted exposure given to
	// items it leads.
	LedItemShare     float64 `json:"led_item_share"`
	LedExposureShare float64 `json:"led_exposure_share"`
	// NDCG is the group's mean NDCG@10, over its users, then folds.
	NDCG float64 `json:"ndcg@10"`
}

// attribute partitions users into groups; group returns -1 when unknown.
type attribute struct {
	name   string
	groups []string
	group  func(u int) int
}

// AgeBands are the audit's age groups: under 25, 25–34, 35–44, 45 and over.
var AgeBands = []string{"<25", "25-34", "35-44", "45+"}

func ageBand(age int) int {
	switch {
	case age <= 0:
		return -1
	case age < 25:
		return 0
	case age < 35:
		return 1
	case age < 45:
		return 2
	}
	return 3
}

func attributes(demo *Demographics) []attribute {
	return []attribute{
		{name: "gender", groups: []string{"F", "M"}, group: func(u int) int {
			switch demo.Gender[u] {
			case "F":
				return 0
			case "M":
				return 1
			}
			return -1
		}},
		{name: "age", groups: AgeBands, group: func(u int) int { return ageBand(demo.Age[u]) }},
	}
}

// Audit is the fairness audit: a separate pass over the lists an evaluation
// kept (Options.KeepLists), run after all ranking is done. It reads the
// rankings and never changes them; results without kept lists are skipped.
func Audit(rep *Report, ds *Dataset, demo *Demographics) []*AuditResult {
	var out []*AuditResult
	for _, r := range rep.Results {
		if len(r.folds) == 0 {
			continue
		}
		ar := &AuditResult{Model: r.Model, ConsentRate: r.ConsentRate}
		for _, a := range attributes(demo) {
			ar.Groups = append(ar.Groups, auditAttribute(r, ds, a)...)
		}
		out = append(out, ar)
	}
	return out
}

func auditAttribute(r *Result, ds *Dataset, a attribute) []GroupResult {
	g := len(a.groups)
	res := make([]GroupResult, g)
	for k := range res {
		res[k] = GroupResult{Attribute: a.name, Group: a.groups[k]}
	}
	of := make([]int, ds.NumUsers())
	for u := range of {
		of[u] = a.group(u)
		if of[u] >= 0 {
			res[of[u]].Users++
		}
	}

	// Who leads each item: the group with strictly the most of its raters.
	raters := make([]int, ds.NumItems()*g)
	known := 0
	ratings := make([]int, g)
	for _, rt := range ds.Ratings {
		if k := of[rt.User]; k >= 0 {
			raters[int(rt.Item)*g+k]++
			ratings[k]++
			known++
		}
	}
	knownRaters := make([]int, ds.NumItems())
	lead := make([]int, ds.NumItems())
	for i := range lead {
		for k := range g {
			knownRaters[i] += raters[i*g+k]
		}
		lead[i] = -1
		best, tied := 0, false
		for k := range g {
			switch c := raters[i*g+k]; {
			case c > best:
				best, tied, lead[i] = c, false, k
			case c == best && c > 0:
				tied = true
			}
		}
		if tied {
			lead[i] = -1
		}
		if lead[i] >= 0 {
			res[lead[i]].LedItemShare++
		}
	}

	exposure := make([]float64, g)
	led := make([]float64, g)
	total := 0.0
	ndcg := make([]float64, g)
	folds := make([]int, g)
	for _, fo := range r.folds {
		sum := make([]float64, g)
		n := make([]int, g)
		for u, list := range fo.lists {
			for k, i := range list {
				w := 1 / math.Log2(float64(k)+2)
				total += w
				if lead[i] >= 0 {
					led[lead[i]] += w
				}
				if n := knownRaters[i]; n > 0 {
					for k := range g {
						exposure[k] += w * float64(raters[int(i)*g+k]) / float64(n)
					}
				}
			}
			if grp := of[u]; grp >= 0 && !math.IsNaN(fo.ndcg[u]) {
				sum[grp] += fo.ndcg[u]
				n[grp]++
			}
		}
		for k := range g {
			if n[k] > 0 {
				ndcg[k] += sum[k] / float64(n[k])
				folds[k]++
			}
		}
	}
	for k := range res {
		if known > 0 {
			res[k].RatingShare = float64(ratings[k]) / float64(known)
		}
		if ds.NumItems() > 0 {
			res[k].LedItemShare /= float64(ds.NumItems())
		}
		if total > 0 {
			res[k].ExposureShare = exposure[k] / total
			res[k].LedExposureShare = led[k] / total
		}
		if folds[k] > 0 {
			res[k].NDCG = ndcg[k] / float64(folds[k])
		}
	}
	return res
}
