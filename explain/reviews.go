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

	"github.com/redis/go-redis/v9"

	"github.com/candorhq/candor/features"
)

// Review cases: a customer contests a recommendation or asks for a human to
// review it. The case keeps the recommendation's facts as explained to the
// customer (so it can be reviewed after the answer's retention ends), is
// sealed like every customer record, is indexed in the customer's slot (for
// export and erasure) and queued by status for the privacy officer.

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

// Limits on a case's text.
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
	keys  features.Keyspace
	codec *features.Codec
}

// NewReviews returns the case store.
func NewReviews(rdb redis.UniversalClient, keys features.Keyspace, codec *features.Codec) *Reviews {
	return &Reviews{rdb: rdb, keys: keys, codec: codec}
}

// ValidCaseID reports whether id has the shape of a case id.
func ValidCaseID(id string) bool { return features.ValidID("case_", id) }

func checkText(field, s string, max int, required bool) error {
	switch {
	case required && strings.TrimSpace(s) == "":
		return fmt.Errorf("%w: %s: required", features.ErrInvalid, field)
	case len(s) > max:
		return fmt.Errorf("%w: %s: at most %d bytes", features.ErrInvalid, field, max)
	}
	for _, r := range s {
		if r == '\uFFFD' || (!unicode.IsPrint(r) && r != '\n') {
			return fmt.Errorf("%w: %s: must be printable text", features.ErrInvalid, field)
		}
	}
	return nil
}

// Open creates a case about a stored answer of the customer p.
func (r *Reviews) Open(ctx context.Context, p features.Pseudonym, a *Answer, kind, message string, now time.Time) (*Case, error) {
	if kind != ReviewContest && kind != ReviewHumanReview {
		return nil, fmt.Errorf("%w: kind: %q is not a kind of review (contest or human_review)", features.ErrInvalid, kind)
	}
	if err := checkText("message", message, MaxReviewMessage, true); err != nil {
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

// write stores a case and files it in the queue of its status.
func (r *Reviews) write(ctx context.Context, c *Case) error {
	raw, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("explain.Reviews: %w", err)
	}
	key := r.keys.ReviewCase(c.ID)
	sealed := r.codec.Seal(raw, key, "")
	_, err = r.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Set(ctx, key, sealed, 0)
		pipe.SAdd(ctx, r.keys.Customer(c.Pseudonym).Reviews, c.ID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("explain.Reviews: %w", err)
	}
	return r.file(ctx, c.ID)
}

// maxFileRounds bounds file's rounds. Each round that does not end it saw
// another update land; cases are worked by one privacy officer at a time,
// so more than a couple is already unusual.
const maxFileRounds = 50

// file puts a case in the queue of its stored status and takes it out of
// every other queue. The case and the queues live in different cluster
// slots, so this cannot be one transaction with the write; and moving the
// case by the status its writer read or wrote is not enough: two updates
// that land together each leave the case in their own queue, or one takes
// it out of the queue of the status the other stored. So file reads the
// stored status, moves the case, and reads again until the status did not
// change meanwhile: whichever update is stored last, the queues end up
// matching it once every writer has returned. (A writer that gives up
// after maxFileRounds has stored its update; only its filing may be stale,
// until the next update of the case.)
func (r *Reviews) file(ctx context.Context, id string) error {
	filed := ""
	for round := 0; round < maxFileRounds; round++ {
		c, err := r.Get(ctx, id)
		if errors.Is(err, features.ErrNotFound) {
			// Deleted meanwhile (erasure): in no queue.
			c = &Case{}
		} else if err != nil {
			return err
		}
		if round > 0 && c.Status == filed {
			return nil
		}
		filed = c.Status
		_, err = r.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			for _, st := range ReviewStatuses {
				if st != c.Status {
					pipe.ZRem(ctx, r.keys.ReviewQueue(st), id)
				}
			}
			if c.Status != "" {
				pipe.ZAdd(ctx, r.keys.ReviewQueue(c.Status), redis.Z{Score: float64(c.CreatedAt.UnixMilli()), Member: id})
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("explain.Reviews: %w", err)
		}
	}
	return nil
}

// Get reads one case.
func (r *Reviews) Get(ctx context.Context, id string) (*Case, error) {
	key := r.keys.ReviewCase(id)
	sealed, err := r.rdb.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("case %s: %w", id, features.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("explain.Reviews.Get: %w", err)
	}
	plain, err := r.codec.Open(sealed, key, "")
	if err != nil {
		return nil, fmt.Errorf("explain.Reviews.Get: %w", err)
	}
	var c Case
	if err := json.Unmarshal(plain, &c); err != nil {
		return nil, fmt.Errorf("explain.Reviews.Get: %w", features.ErrCorrupt)
	}
	return &c, nil
}

// Update sets a case's status and reply (the privacy officer's answer).
func (r *Reviews) Update(ctx context.Context, id, status, reply string, now time.Time) (*Case, error) {
	if !slices.Contains(ReviewStatuses, status) {
		return nil, fmt.Errorf("%w: status: %q is not a status (open, in_review, resolved, rejected)", features.ErrInvalid, status)
	}
	if err := checkText("reply", reply, MaxReviewReply, status == ReviewResolved || status == ReviewRejected); err != nil {
		return nil, err
	}
	// Cases are worked by one privacy officer at a time: the last update
	// wins.
	c, err := r.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	c.Status, c.UpdatedAt = status, now.UTC()
	if reply != "" {
		c.Reply = reply
	}
	return c, r.write(ctx, c)
}

// Customer lists a customer's cases, newest first.
func (r *Reviews) Customer(ctx context.Context, p features.Pseudonym) ([]*Case, error) {
	ids, err := r.rdb.SMembers(ctx, r.keys.Customer(p).Reviews).Result()
	if err != nil {
		return nil, fmt.Errorf("explain.Reviews.Customer: %w", err)
	}
	var out []*Case
	for _, id := range ids {
		c, err := r.Get(ctx, id)
		if errors.Is(err, features.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *Case) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out, nil
}

// Queue lists up to limit cases of a status from offset, oldest first, and
// how many there are.
func (r *Reviews) Queue(ctx context.Context, status string, offset, limit int64) ([]*Case, int64, error) {
	if !slices.Contains(ReviewStatuses, status) {
		return nil, 0, fmt.Errorf("%w: status: %q is not a status (open, in_review, resolved, rejected)", features.ErrInvalid, status)
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
	var out []*Case
	for _, id := range idsCmd.Val() {
		c, err := r.Get(ctx, id)
		if errors.Is(err, features.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, 0, err
		}
		// The case and the queues are written in one pipeline, not one
		// transaction (they live in different cluster slots): a case an
		// update is moving may still be listed here for a moment.
		if c.Status != status {
			continue
		}
		out = append(out, c)
	}
	return out, countCmd.Val(), nil
}

// DeleteAll deletes a customer's cases and their queue entries (erasure).
func (r *Reviews) DeleteAll(ctx context.Context, p features.Pseudonym, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	members := make([]any, len(ids))
	for i, id := range ids {
		members[i] = id
	}
	_, err := r.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for _, id := range ids {
			pipe.Del(ctx, r.keys.ReviewCase(id))
		}
		for _, st := range ReviewStatuses {
			pipe.ZRem(ctx, r.keys.ReviewQueue(st), members...)
		}
		pipe.SRem(ctx, r.keys.Customer(p).Reviews, members...)
		return nil
	})
	if err != nil {
		return fmt.Errorf("explain.Reviews.DeleteAll: %w", err)
	}
	return nil
}
