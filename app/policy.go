package app

import (
	"context"

	"github.com/candorhq/candor/consent"
	"github.com/candorhq/candor/explain"
	"github.com/candorhq/candor/internal/fault"
)

// GetSignalSets returns the policy in force: which signal types may feed
// which purpose.
func (a *App) GetSignalSets(ctx context.Context, who Actor) (*consent.Policy, error) {
	if err := authorize(OpGetSignalSets, who); err != nil {
		return nil, err
	}
	return a.policies.Current(ctx)
}

// PutSignalSets writes a new policy version. With expectedVersion > 0 the
// change is refused unless that version is current.
func (a *App) PutSignalSets(ctx context.Context, who Actor, sets []consent.SignalSetInput, expectedVersion int64) (*consent.Policy, error) {
	if err := authorize(OpPutSignalSets, who); err != nil {
		return nil, err
	}
	if expectedVersion < 0 {
		return nil, fault.Invalidf("expected_version: must not be negative")
	}
	allowed, err := consent.ParseSignalSets(sets)
	if err != nil {
		return nil, err
	}
	return a.policies.Put(ctx, allowed, expectedVersion, string(who.Role), a.now())
}

// RankingDescription is how ranking works, in words, under the policy in
// force; with the policy's version.
func (a *App) RankingDescription(ctx context.Context, who Actor) ([]explain.Section, int64, error) {
	if err := authorize(OpGetRankingDescription, who); err != nil {
		return nil, 0, err
	}
	policy, err := a.policies.Current(ctx)
	if err != nil {
		return nil, 0, err
	}
	return explain.RankingDescription(a.rankingFacts(policy)), policy.Version, nil
}
