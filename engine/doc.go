// Package engine ranks items. It owns the item model (item-to-item
// co-occurrence learned only from signals usable for model training, and item
// popularity), its training and hot swap, the scoring of candidates from a
// customer's usable signals, and the business rules (no items already bought,
// no promotional items on the support surface, sensitive items only with
// explicit consent).
//
// Every personalised score is returned with the exact contribution of each
// signal that produced it, so explanations can be faithful. The engine never
// reads the store directly for a request: it is handed the usable signals by
// the features package, and it must never see a signal that is not usable for
// the request's purpose nor learn who the customer is.
package engine
