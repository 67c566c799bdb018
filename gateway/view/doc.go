// Package view is the public shapes of the gateway: what the JSON API, the
// console pages and the websocket show, converted from the store's records
// and the parts' results. Enums the store keeps as numbers are names here
// and unknown values are null, so the wire format stays put when storage
// changes.
//
// It holds types and conversions only: no logic, no I/O. The facade
// (package gateway) converts a record once where it leaves the gateway and
// re-exports these types under its own names; no part of the gateway
// imports view, so the parts keep working on records.
package view
