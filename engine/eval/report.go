package eval

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes the report as aligned text tables.
func (r *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "dataset %s (%s): %d users, %d items, %d ratings", r.Dataset, r.Data.Layout, r.Data.Users, r.Data.Items, r.Data.Ratings)
	if r.Data.Duplicates > 0 {
		fmt.Fprintf(w, " (%d repeated ratings dropped)", r.Data.Duplicates)
	}
	fmt.Fprintf(w, "\nprotocol: %s\n\n", r.Protocol)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "model\tconsent\tP@10\tR@10\tMAP@10\tNDCG@10\tMRR@10\tcoverage\tusers/fold\tseconds\t")
	for _, res := range r.Results {
		fmt.Fprintf(tw, "%s\t%.2f\t%.5f\t%.5f\t%.5f\t%.5f\t%.5f\t%.5f\t%.0f\t%.1f\t\n", res.Model, res.ConsentRate,
			res.Precision, res.Recall, res.MAP, res.NDCG, res.MRR, res.Coverage, res.Users, res.Seconds)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	for _, res := range r.Results {
		if len(res.Hyperparameters) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s hyperparameters at consent %.2f, chosen per training fold on held-out validation ratings:\n", res.Model, res.ConsentRate)
		for f, p := range res.Hyperparameters {
			fmt.Fprintf(w, "  fold %d: %s", f+1, p)
			if p.Candidates > 1 {
				fmt.Fprintf(w, " (best of %d, validation NDCG@10 %.5f)", p.Candidates, p.Validation)
			}
			fmt.Fprintln(w)
		}
	}

	if len(r.Audit) > 0 {
		fmt.Fprintf(w, "\nfairness audit (position-discounted top-%d exposure; see the engine/eval package comment):\n"+
			"  exposure share: the group's share of the raters of what was shown (neutral: its rating share)\n"+
			"  led items/exposure: items where the group is the largest share of raters, and their share of exposure\n", TopK)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "model\tconsent\tattribute\tgroup\tusers\trating share\texposure share\tled items\tled exposure\tNDCG@10\t")
		for _, a := range r.Audit {
			for _, g := range a.Groups {
				fmt.Fprintf(tw, "%s\t%.2f\t%s\t%s\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t%.5f\t\n", a.Model, a.ConsentRate, g.Attribute, g.Group,
					g.Users, g.RatingShare, g.ExposureShare, g.LedItemShare, g.LedExposureShare, g.NDCG)
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "\ntotal %.1f s\n", r.Seconds)
	return nil
}
