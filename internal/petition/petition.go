// Package petition owns petitions (征求意见书 / 联名): their scope, text,
// deadline and target; the one signature per household; paper signatures;
// and the elevator cost-sharing that rides on them — cost tables by floor,
// pledges and the treasurer's payments, all in integer fen (SPEC §6).
package petition
