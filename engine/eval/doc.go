// Package eval is candor's offline evaluation harness. It owns reading
// MovieLens ratings (u.data of MovieLens 100K, ratings.csv of MovieLens
// "latest"), the cross-validation protocol, the ranking metrics, the
// adapters that put the engine's models (popularity, co-occurrence, implicit
// ALS) behind one Model interface, the consent-rate simulation
// (privacy–utility) and the fairness audit.
//
// It must never be a path for evaluation data into the product: datasets are
// read from a directory given at run time (MovieLens may not be
// redistributed, so it is never copied into the repository or its tests),
// and the demographics of u.user are read only by the audit, after every
// list has been ranked, and never reach a model.
//
// # Protocol
//
// The protocol is that of Gorse's 2019 ranking benchmark on MovieLens 100K
// (gorse-io/gorse, docs/introduction/benchmark.rst and
// example/benchmark_ranking; evaluator core/evaluator.go, splitter
// NewKFoldSplitter, model ItemPop of that era):
//
//   - all ratings are shuffled once with a generator seeded by the seed and
//     cut into k chunks of equal size (the first n mod k chunks one larger);
//     fold f tests on chunk f and trains on the other chunks;
//   - every rating, whatever its value, is positive feedback;
//   - users with no rating in the test chunk are skipped;
//   - each remaining user is ranked against every item of the dataset that
//     is not in their training set, and the top 10 are kept (ties to the
//     lower item index);
//   - each metric is averaged over users, then over folds.
//
// # Metrics
//
// For one user with test items T and list L = (l_1, …, l_n), n ≤ 10, and
// hits = |{k : l_k ∈ T}|:
//
//   - Precision@10 = hits / n (Gorse divides by the list's length);
//   - Recall@10 = hits / |T|;
//   - MAP@10: AP = Σ_{k: l_k ∈ T} (hits among l_1..l_k) / k, divided by |T|,
//     not by min(|T|, 10): Gorse's averagePrecision divides by the size of
//     the target set, which is why its MAP@10 is so much lower than its
//     Precision@10;
//   - NDCG@10 = DCG / IDCG with binary gains, DCG = Σ_{k: l_k ∈ T} 1/log2(k+1)
//     and IDCG = Σ_{k=1}^{min(|T|, n)} 1/log2(k+1);
//   - MRR@10 = 1/k for the first k with l_k ∈ T, else 0;
//   - Coverage (not in Gorse) = |∪ L over the fold's users| / number of
//     items, averaged over folds.
//
// These are Gorse's definitions line for line (precision, recall,
// averagePrecision, nDCG, reciprocalRank in core/evaluator.go); the
// popularity model, Gorse's ItemPop (an item's score is its number of
// training ratings), reproduces the published row (GorseItemPop) to within
// 0.002 on every metric for seeds 1 to 4, which
//
//	candor eval --dataset ../shared/datasets/ml-100k --models pop --check-gorse
//
// checks (it fails outside GorseTolerance).
//
// # Models
//
// A Model is fitted on one training fold and ranks through a Ranker that is
// handed only a customer's usable history, as the engine is at request
// time. See Pop, Cooc and ALS. ALS chooses its hyperparameters from a grid
// on validation data carved out of each training fold (10% of the fold's
// training ratings, shuffled with a seeded generator as the folds are),
// never from the test fold, and is then retrained on the whole fold with
// the chosen setting.
//
// # Consent rate
//
// With a consent rate R < 1, exactly round(R × users) users, drawn with a
// seeded shuffle, consent to both model_training and personalization. Only
// their training ratings train the models (the other users' rows are
// empty), and only they are ranked by the model from their history. Every
// other user gets the non-personalised answer: the ten items with the most
// training ratings among consenting users, as they are, since without
// consent for personalisation their history may not be used for anything,
// not even to remove what they already rated. Metrics remain averaged over
// all users with test items.
//
// # Fairness audit
//
// The audit reads u.user after every list has been ranked and kept, and
// reports per model and group, for gender (F, M) and age band (<25, 25–34,
// 35–44, 45+):
//
//   - NDCG@10 of the group's users: the mean over the group's users with
//     test items in each fold, then over folds;
//   - rating share: the group's share of the ratings (of users whose
//     attribute is known), over the whole dataset;
//   - exposure share: every slot k = 1..10 of every kept list (all users,
//     all folds) carries exposure w_k = 1/log2(k+1); the slot's item i has
//     an audience, its raters over the whole dataset, of which a share
//     s_g(i) is in group g. Exposure share(g) = Σ w_k·s_g(i_k) / Σ w_k, the
//     group's share of the audience of what was shown. Its neutral value is
//     the rating share: exposure spread over items in proportion to their
//     number of ratings gives exactly that. Above it, the model amplifies
//     the group's taste;
//   - led items and led exposure: a group leads an item when strictly more
//     of the item's raters belong to it than to any other group of the
//     attribute (a majority for gender, a plurality for age; tied items are
//     led by none). Led items is the share of the catalogue the group leads;
//     led exposure is Σ w_k over slots holding items it leads, divided by
//     Σ w_k. This coarser figure is dominated by base rates (men make three
//     quarters of MovieLens 100K's ratings and lead nearly every popular
//     film), hence the audience-weighted share above.
//
// Differences in NDCG@10 between groups show whom the ranking serves worse.
package eval
