package explain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"github.com/candorhq/candor/features"
	"github.com/candorhq/candor/internal/fault"
	"github.com/candorhq/candor/internal/keyspace"
	"github.com/candorhq/candor/internal/redisx"
)

// Review cases: a customer contests a recommendation or asks for a human to
// review it. The case keeps the recommendation's facts as explained to the
// customer (so it can be reviewed after the answer's retention ends), is
// sealed like every customer record, is indexed in the customer's slot (for
// export and erasure) and queued by status for the privacy officer.
//
// What Redis shows in the clear links no customer to a case and holds no
// time (invariant 6):
//
//   - a case is stored under its handle (CaseHandle: a keyed HMAC of its
//     id), never its id;
//   - the queues list handles, scored by the case's place in the order cases
//     were opened (a counter), not by when;
//   - the customer's index names each case by another keyed HMAC (of the
//     customer and the case id), which matches no handle, and holds the case
//     id sealed.
//
// So only a holder of the secret can tell whose a case is, and which case an
// id names.
//
// While a case is pending (open or in review), a second case of its kind
// about its answer by its customer is refused with ErrReviewExists. The
// check is atomic: a marker in the {reviews} slot (keyspace.ReviewPending,
// named by PendingHandle, another keyed HMAC) holds the pending case's
// handle, and a case is opened in one optimistic transaction that watches
// the marker, finds it free, and writes the marker, the case and its queue
// entry together. The marker goes when its case is answered or erased; one
// that names a case gone or answered counts as free.

// Review kinds and statuses.
const (
	ReviewContest     = "contest"
	ReviewHumanReview = "human_review"

	ReviewOpen     = "open"
	ReviewInReview = "in_review"
	ReviewResolved = "resolved"
	ReviewRejected = "rejected"
)

// ReviewStatuses lists the statuses in their usual order.
var ReviewStatuses = []string{ReviewOpen, ReviewInReview, ReviewResolved, ReviewRejected}

// ReviewPending reports whether a case of that status still waits for a
// person's answer.
func ReviewPending(status string) bool { return status == ReviewOpen || status == ReviewInReview }

// ErrReviewExists answers a second review request of the same kind about
// the same answer by the same customer while the first still waits for a
// person. Its Detail is the pending case (*Case).
var ErrReviewExists = fault.Kind(fault.AlreadyExists, "a review of this kind about this recommendation is already waiting for a person")

// reviewExists is the refusal naming the pending case c.
func reviewExists(c *Case) error {
	e := fault.Wrapf(ErrReviewExists, "a %s request about this recommendation is already %s: case %s", c.Kind, c.Status, c.ID)
	e.Detail = c
	return e
}

// Limits on a case's text, in characters.
const (
	MaxReviewMessage = 2000
	MaxReviewReply   = 4000
)

// Case is one review case.
type Case struct {
	ID               string             `json:"case_id"`
	Pseudonym        features.Pseudonym `json:"pseudonym"` // whose; never returned to callers
	RecommendationID string             `json:"recommendation_id"`
	Kind             string             `json:"kind"`
	Message          string             `json:"message"`
	Status           string             `json:"status"`
	Reply            string             `json:"reply,omitempty"`
	CreatedAt        time.Time          `json:"created_at"`
	UpdatedAt        time.Time          `json:"updated_at"`
	// Seq is the case's place in the order cases were opened: its score in
	// the queue of its status (oldest first), in place of its time.
	Seq int64 `json:"seq"`
	// Answer is the recommendation's encoded facts (see encodeAnswer).
	Answer []byte `json:"answer"`
}

// Recommendation returns the answer the case is about.
func (c *Case) Recommendation() (*Answer, error) {
	_, a, err := decodeAnswer(c.Answer)
	return a, err
}

// Reviews stores review cases.
type Reviews struct {
	rdb   redis.UniversalClient
	keys  keyspace.Keyspace
	codec *features.Codec
}

// NewReviews returns the case store.
func NewReviews(rdb redis.UniversalClient, keys keyspace.Keyspace, codec *features.Codec) *Reviews {
	return &Reviews{rdb: rdb, keys: keys, codec: codec}
}

// ValidCaseID reports whether id has the shape of a case id.
func ValidCaseID(id string) bool { return features.ValidID("case_", id) }

// CaseHandle is the name a case is stored and queued under
// (keyspace.Keyspace.ReviewCase, ReviewQueue): a keyed HMAC of its id, so
// that Redis never shows a case id.
func CaseHandle(codec *features.Codec, id string) string { return codec.Blind("review_case", id) }

// PendingHandle names the marker of the pending case of a kind about the
// answer recommendationID of the customer p (keyspace.Keyspace.ReviewPending):
// a keyed HMAC of the three, so that Redis shows none of them.
func PendingHandle(codec *features.Codec, p features.Pseudonym, recommendationID, kind string) string {
	return codec.Blind("review_pending", string(p), recommendationID, kind)
}

// marker is the key of the marker of c's kind about c's answer.
func (r *Reviews) marker(c *Case) string {
	return r.keys.ReviewPending(PendingHandle(r.codec, c.Pseudonym, c.RecommendationID, c.Kind))
}

// indexField names a case in its customer's index: a keyed HMAC of the
// customer and the case id, unlike any handle, so that the index cannot be
// matched with the cases or the queues without the secret.
func (r *Reviews) indexField(p features.Pseudonym, id string) string {
	return r.codec.Blind("review_index", string(p), id)
}

// checkText checks a customer's or a reviewer's text: at most max
// characters (as a browser's maxlength counts them, near enough: a
// character outside the Basic Multilingual Plane counts once here and twice
// there), printable, with line breaks and tabs.
func checkText(field, s string, max int, required bool) error {
	switch {
	case required && strings.TrimSpace(s) == "":
		return fault.Wrapf(features.ErrInvalid, "%s: required", field)
	case utf8.RuneCountInString(s) > max:
		return fault.Wrapf(features.ErrInvalid, "%s: at most %d characters", field, max)
	}
	for _, r := range s {
		if r == '\uFFFD' || (!unicode.IsPrint(r) && r != '\n' && r != '\t') {
			return fault.Wrapf(features.ErrInvalid, "%s: must be printable text", field)
		}
	}
	return nil
}

// CheckReviewRequest checks the kind and message of a review request.
func CheckReviewRequest(kind, message string) error {
	if kind != ReviewContest && kind != ReviewHumanReview {
		return fault.Wrapf(features.ErrInvalid, "kind: %q is not a kind of review (contest or human_review)", kind)
	}
	return checkText("message", message, MaxReviewMessage, true)
}

// Open creates a case about a stored answer of the customer p. While a case
// of that kind about that answer is pending, it writes nothing and returns
// ErrReviewExists carrying the pending case.
func (r *Reviews) Open(ctx context.Context, p features.Pseudonym, a *Answer, kind, message string, now time.Time) (*Case, error) {
	if err := CheckReviewRequest(kind, message); err != nil {
		return nil, err
	}
	c := &Case{
		ID: features.NewID("case_"), Pseudonym: p, RecommendationID: a.ID, Kind: kind, Message: message,
		Status: ReviewOpen, CreatedAt: now.UTC(), UpdatedAt: now.UTC(), Answer: encodeAnswer(p, a),
	}
	if err := r.write(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

// write stores a new case, marks it pending and files it in the queue of
// its status, in one optimistic transaction on the marker (they share the
// {reviews} slot), unless the marker names a pending case. The case's
// entry in the customer's index (in the customer's slot) is written first,
// so that an erasure always finds a case that exists: a crash between the
// two leaves at worst an entry that names no case (readers skip those),
// never a case no index names. A refused or failed request takes its entry
// back.
//
// A case's place in the order (Seq) is drawn once the marker is found free:
// a request that then loses the race to another is refused having drawn a
// number, which leaves a gap in the numbering and nothing else.
func (r *Reviews) write(ctx context.Context, c *Case) error {
	handle := CaseHandle(r.codec, c.ID)
	key := r.keys.ReviewCase(handle)
	marker := r.marker(c)
	open := func(tx *redis.Tx) error {
		pending, err := r.pendingAt(ctx, tx, marker)
		if err != nil {
			return err
		}
		if pending != nil {
			return reviewExists(pending)
		}
		if c.Seq == 0 {
			if c.Seq, err = tx.Incr(ctx, r.keys.ReviewSeq()).Result(); err != nil {
				return err
			}
		}
		raw, err := json.Marshal(c)
		if err != nil {
			return err
		}
		sealed := r.codec.Seal(raw, key, "")
		_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			r.store(ctx, pipe, key, handle, sealed, c)
			pipe.Set(ctx, marker, handle, 0)
			return nil
		})
		return err
	}
	index := r.keys.Customer(c.Pseudonym).Reviews
	field := r.indexField(c.Pseudonym, c.ID)
	if err := r.rdb.HSet(ctx, index, field, r.codec.Seal([]byte(c.ID), index, field)).Err(); err != nil {
		return fmt.Errorf("explain.Reviews.Open: %w", err)
	}
	if err := redisx.Watch(ctx, r.rdb, "explain.Reviews.Open", open, marker); err != nil {
		if herr := r.rdb.HDel(context.WithoutCancel(ctx), index, field).Err(); herr != nil {
			return fmt.Errorf("explain.Reviews.Open: %w (taking the index entry back: %v)", err, herr)
		}
		return err
	}
	return nil
}

// pendingAt reads, through tx (which watches it), the marker's case, and
// returns it if it is pending: a marker that names a case gone or answered
// is free.
func (r *Reviews) pendingAt(ctx context.Context, tx *redis.Tx, marker string) (*Case, error) {
	handle, err := tx.Get(ctx, marker).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	// Watched too: a case answered meanwhile may be reopened.
	key := r.keys.ReviewCase(handle)
	if err := tx.Watch(ctx, key).Err(); err != nil {
		return nil, err
	}
	sealed, err := tx.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c, err := r.open(key, sealed)
	if err != nil || !ReviewPending(c.Status) {
		return nil, err
	}
	return c, nil
}

// store queues the writes of a case and its filing.
func (r *Reviews) store(ctx context.Context, pipe redis.Pipeliner, key, handle string, sealed []byte, c *Case) {
	pipe.Set(ctx, key, sealed, 0)
	for _, st := range ReviewStatuses {
		if st != c.Status {
			pipe.ZRem(ctx, r.keys.ReviewQueue(st), handle)
		}
	}
	pipe.ZAdd(ctx, r.keys.ReviewQueue(c.Status), redis.Z{Score: float64(c.Seq), Member: handle})
}

// Get reads one case.
func (r *Reviews) Get(ctx context.Context, id string) (*Case, error) {
	return r.read(ctx, r.rdb, id)
}

// read reads one case through c (the client, or a transaction's).
func (r *Reviews) read(ctx context.Context, c redis.Cmdable, id string) (*Case, error) {
	key := r.keys.ReviewCase(CaseHandle(r.codec, id))
	sealed, err := c.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fault.Wrapf(features.ErrNotFound, "case %s: not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("explain.Reviews.Get: %w", err)
	}
	return r.open(key, sealed)
}

// open unseals and decodes a stored case.
func (r *Reviews) open(key string, sealed []byte) (*Case, error) {
	plain, err := r.codec.Open(sealed, key, "")
	if err != nil {
		return nil, fmt.Errorf("explain.Reviews: %w", err)
	}
	var c Case
	if err := json.Unmarshal(plain, &c); err != nil {
		return nil, fmt.Errorf("explain.Reviews: %w", features.ErrCorrupt)
	}
	return &c, nil
}

// Update sets a case's status and reply (the privacy officer's answer).
// A case answered (resolved or rejected) frees its kind about its answer;
// one reopened while another of its kind about its answer is pending is
// refused with ErrReviewExists.
func (r *Reviews) Update(ctx context.Context, id, status, reply string, now time.Time) (*Case, error) {
	if !slices.Contains(ReviewStatuses, status) {
		return nil, fault.Wrapf(features.ErrInvalid, "status: %q is not a status (open, in_review, resolved, rejected)", status)
	}
	if err := checkText("reply", reply, MaxReviewReply, status == ReviewResolved || status == ReviewRejected); err != nil {
		return nil, err
	}
	// An optimistic transaction on the case and its marker: an update that
	// races another update, a new case or the customer's erasure is
	// retried on what is stored then (and a case erased meanwhile stays
	// erased).
	handle := CaseHandle(r.codec, id)
	key := r.keys.ReviewCase(handle)
	var updated *Case
	update := func(tx *redis.Tx) error {
		c, err := r.read(ctx, tx, id)
		if err != nil {
			return err
		}
		marker := r.marker(c) // of fields a case never changes
		if err := tx.Watch(ctx, marker).Err(); err != nil {
			return err
		}
		holder, err := tx.Get(ctx, marker).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		var set, del bool
		switch {
		case !ReviewPending(status):
			del = holder == handle
		case holder == handle:
		case holder == "":
			set = true
		default:
			other, err := r.pendingAt(ctx, tx, marker)
			switch {
			case err != nil:
				return err
			case other == nil: // the marker names a case gone or answered
				set = true
			case !ReviewPending(c.Status): // a reopening
				return reviewExists(other)
			}
			// Else both were pending already (opened before there were
			// markers): the marker stays with the other.
		}
		c.Status, c.UpdatedAt = status, now.UTC()
		if reply != "" {
			c.Reply = reply
		}
		raw, err := json.Marshal(c)
		if err != nil {
			return err
		}
		sealed := r.codec.Seal(raw, key, "")
		_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			r.store(ctx, pipe, key, handle, sealed, c)
			if del {
				pipe.Del(ctx, marker)
			}
			if set {
				pipe.Set(ctx, marker, handle, 0)
			}
			return nil
		})
		updated = c
		return err
	}
	if err := redisx.Watch(ctx, r.rdb, "explain.Reviews.Update", update, key); err != nil {
		return nil, err
	}
	return updated, nil
}

// Customer lists a customer's cases, newest first.
func (r *Reviews) Customer(ctx context.Context, p features.Pseudonym) ([]*Case, error) {
	index := r.keys.Customer(p).Reviews
	entries, err := r.rdb.HGetAll(ctx, index).Result()
	if err != nil {
		return nil, fmt.Errorf("explain.Reviews.Customer: %w", err)
	}
	handles := make([]string, 0, len(entries))
	for field, sealed := range entries {
		id, err := r.codec.Open([]byte(sealed), index, field)
		if err != nil {
			return nil, fmt.Errorf("explain.Reviews.Customer: %w", err)
		}
		handles = append(handles, CaseHandle(r.codec, string(id)))
	}
	out, err := r.getMany(ctx, handles)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b *Case) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return int(b.Seq - a.Seq)
	})
	return out, nil
}

// getMany reads cases in one MGET (they share the {reviews} slot), in the
// order of their handles, skipping those that no longer exist.
func (r *Reviews) getMany(ctx context.Context, handles []string) ([]*Case, error) {
	if len(handles) == 0 {
		return nil, nil
	}
	keys := make([]string, len(handles))
	for i, h := range handles {
		keys[i] = r.keys.ReviewCase(h)
	}
	vals, err := r.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("explain.Reviews: %w", err)
	}
	var out []*Case
	for i, v := range vals {
		sealed, ok := v.(string)
		if !ok {
			continue // deleted meanwhile
		}
		c, err := r.open(keys[i], []byte(sealed))
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Queue lists up to limit cases of a status from offset, oldest first (in
// the order they were opened), and how many there are.
func (r *Reviews) Queue(ctx context.Context, status string, offset, limit int64) ([]*Case, int64, error) {
	if !slices.Contains(ReviewStatuses, status) {
		return nil, 0, fault.Wrapf(features.ErrInvalid, "status: %q is not a status (open, in_review, resolved, rejected)", status)
	}
	key := r.keys.ReviewQueue(status)
	var idsCmd *redis.StringSliceCmd
	var countCmd *redis.IntCmd
	if _, err := r.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		idsCmd = pipe.ZRange(ctx, key, offset, offset+limit-1)
		countCmd = pipe.ZCard(ctx, key)
		return nil
	}); err != nil {
		return nil, 0, fmt.Errorf("explain.Reviews.Queue: %w", err)
	}
	cases, err := r.getMany(ctx, idsCmd.Val())
	if err != nil {
		return nil, 0, err
	}
	// An update between the two reads may have moved one on.
	out := slices.DeleteFunc(cases, func(c *Case) bool { return c.Status != status })
	return out, countCmd.Val(), nil
}

// DeleteAll deletes a customer's cases, by id, their queue entries and the
// markers that name them (erasure), in one transaction, then the
// customer's index of them.
func (r *Reviews) DeleteAll(ctx context.Context, p features.Pseudonym, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	handles := make([]string, len(ids))
	fields := make([]string, len(ids))
	for i, id := range ids {
		handles[i] = CaseHandle(r.codec, id)
		fields[i] = r.indexField(p, id)
	}
	if err := r.deleteCases(ctx, "explain.Reviews.DeleteAll", handles); err != nil {
		return err
	}
	if err := r.rdb.HDel(ctx, r.keys.Customer(p).Reviews, fields...).Err(); err != nil {
		return fmt.Errorf("explain.Reviews.DeleteAll: %w", err)
	}
	return nil
}

// deleteCases deletes the cases of handles, their queue entries and the
// markers that name them, in one optimistic transaction on the cases and
// their markers (a case's marker is found from the case: its customer,
// answer and kind).
func (r *Reviews) deleteCases(ctx context.Context, op string, handles []string) error {
	keys := make([]string, len(handles))
	members := make([]any, len(handles))
	for i, h := range handles {
		keys[i], members[i] = r.keys.ReviewCase(h), h
	}
	del := func(tx *redis.Tx) error {
		vals, err := tx.MGet(ctx, keys...).Result()
		if err != nil {
			return err
		}
		var markers []string
		for i, v := range vals {
			sealed, ok := v.(string)
			if !ok {
				continue // gone already
			}
			c, err := r.open(keys[i], []byte(sealed))
			if err != nil {
				return err
			}
			markers = append(markers, r.marker(c))
		}
		slices.Sort(markers)
		markers = slices.Compact(markers) // an answered case and a pending one share theirs
		var drop []string
		if len(markers) > 0 {
			if err := tx.Watch(ctx, markers...).Err(); err != nil {
				return err
			}
			holders, err := tx.MGet(ctx, markers...).Result()
			if err != nil {
				return err
			}
			for i, h := range holders {
				if h, ok := h.(string); ok && slices.Contains(handles, h) {
					drop = append(drop, markers[i])
				}
			}
		}
		_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			pipe.Del(ctx, keys...)
			if len(drop) > 0 {
				pipe.Del(ctx, drop...)
			}
			for _, st := range ReviewStatuses {
				pipe.ZRem(ctx, r.keys.ReviewQueue(st), members...)
			}
			return nil
		})
		return err
	}
	return redisx.Watch(ctx, r.rdb, op, del, keys...)
}
