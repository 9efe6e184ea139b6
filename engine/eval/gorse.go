package eval

import (
	"errors"
	"fmt"
	"io"
	"math"
)

// GorseItemPop is the ItemPop row of Gorse's 2019 ranking benchmark on
// MovieLens 100K (gorse-io/gorse, docs/introduction/benchmark.rst).
// Coverage was not published.
var GorseItemPop = Metrics{Precision: 0.19081, Recall: 0.11584, MAP: 0.05364, NDCG: 0.21785, MRR: 0.40991}

// GorseTolerance is how far each metric of our popularity model may be from
// GorseItemPop for the protocol to count as reproduced.
const GorseTolerance = 0.01

// CheckGorse compares the report's pop row at consent rate 1 with
// GorseItemPop, writes the comparison to w, and fails when any metric is
// off by more than GorseTolerance. It only makes sense on MovieLens 100K
// with five folds.
func CheckGorse(rep *Report, w io.Writer) error {
	if rep.Data.Layout != LayoutML100K || rep.Folds != 5 {
		return errors.New("eval: the Gorse check needs MovieLens 100K (u.data) and 5 folds")
	}
	var pop *Result
	for _, r := range rep.Results {
		if r.Model == "pop" && r.ConsentRate == 1 {
			pop = r
		}
	}
	if pop == nil {
		return errors.New("eval: the Gorse check needs the pop model at consent rate 1")
	}
	rows := []struct {
		name      string
		ours, ref float64
	}{
		{"precision@10", pop.Precision, GorseItemPop.Precision},
		{"recall@10", pop.Recall, GorseItemPop.Recall},
		{"map@10", pop.MAP, GorseItemPop.MAP},
		{"ndcg@10", pop.NDCG, GorseItemPop.NDCG},
		{"mrr@10", pop.MRR, GorseItemPop.MRR},
	}
	fmt.Fprintf(w, "Gorse 2019 ItemPop on ml-100k, tolerance ±%.2f:\n", GorseTolerance)
	var bad []string
	for _, r := range rows {
		verdict := "ok"
		if math.Abs(r.ours-r.ref) > GorseTolerance {
			verdict = "OFF"
			bad = append(bad, r.name)
		}
		fmt.Fprintf(w, "  %-13s ours %.5f  Gorse %.5f  diff %+.5f  %s\n", r.name, r.ours, r.ref, r.ours-r.ref, verdict)
	}
	if len(bad) > 0 {
		return fmt.Errorf("eval: popularity does not reproduce Gorse's ItemPop on %v", bad)
	}
	return nil
}
