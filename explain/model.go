package explain

import (
	"time"

	"github.com/candorhq/candor/features"
)

// Recommendation is one answer with its explanations, as returned and stored.
type Recommendation struct {
	ID            string             `json:"id"`
	Pseudonym     features.Pseudonym `json:"pseudonym"` // whose answer it is; never returned to callers
	Surface       string             `json:"surface"`
	Purpose       string             `json:"purpose"`
	PolicyVersion int64              `json:"policy_version"`
	ModelVersion  string             `json:"model_version"`
	CreatedAt     time.Time          `json:"created_at"`
	ExpiresAt     time.Time          `json:"expires_at"`
	Personalized  bool               `json:"personalized"`
	Items         []Item             `json:"items"`
}

// Item is one result.
type Item struct {
	ItemID      string      `json:"item_id"`
	Title       string      `json:"title"`
	Score       float64     `json:"score"`
	Model       string      `json:"model"`
	Explanation Explanation `json:"explanation"`
}

// Explanation says why an item is there.
type Explanation struct {
	Personalized bool          `json:"personalized"`
	Headline     string        `json:"headline"`
	Reasons      []Reason      `json:"reasons"`
	NotUsed      []NotUsedNote `json:"not_used,omitempty"`
}

// Reason kinds.
const (
	KindSignal     = "signal"
	KindPopularity = "popularity"
	KindCatalog    = "catalog"
)

// Reason is one thing that placed or moved an item.
type Reason struct {
	Kind                 string    `json:"kind"`
	Text                 string    `json:"text"`
	SignalID             string    `json:"signal_id,omitempty"`
	SignalType           string    `json:"signal_type,omitempty"`
	ItemID               string    `json:"item_id,omitempty"`
	ItemTitle            string    `json:"item_title,omitempty"`
	OccurredAt           time.Time `json:"occurred_at,omitzero"`
	Purpose              string    `json:"purpose,omitempty"`
	Contribution         float64   `json:"contribution,omitempty"`
	Share                float64   `json:"share,omitempty"`
	ConsentNoticeVersion string    `json:"consent_notice_version,omitempty"`
	ConsentGivenAt       time.Time `json:"consent_given_at,omitzero"`
}

// NotUsedNote counts signals of one type left out for one reason.
type NotUsedNote struct {
	SignalType   string `json:"signal_type"`
	DataCategory string `json:"data_category"`
	Reason       string `json:"reason"`
	Count        int    `json:"count"`
	Text         string `json:"text"`
}
