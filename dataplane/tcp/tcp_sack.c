/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SACK: the sender's scoreboard and the conservative loss recovery
 * functions of RFC 6675 section 4, and the receiver's list of blocks to
 * report (RFC 2018 section 4).
 *
 * The scoreboard is a short sorted array of disjoint SACKed ranges above
 * SND.UNA rather than a per-segment list: the functions of RFC 6675 only
 * ever ask about holes, and every octet of a hole has the same SACKed data
 * above it, so each function walks the holes once.
 */
#include <string.h>

#include "dataplane/tcp/tcp_priv.h"

static void sb_remove(struct tcp_conn *c, unsigned i)
{
	memmove(&c->sb[i], &c->sb[i + 1], (c->sb_n - i - 1) * sizeof(c->sb[0]));
	c->sb_n--;
}

/* Insert [s, e) keeping the array sorted and disjoint (adjacent ranges merged). */
static bool sb_insert(struct tcp_conn *c, uint32_t s, uint32_t e)
{
	unsigned i = 0;
	bool grew = false;

	while (i < c->sb_n && seq_lt(c->sb[i].end, s))
		i++;
	/* i: first range ending at or after s. Absorb every range that touches [s, e). */
	if (i < c->sb_n && seq_le(c->sb[i].start, e)) {
		if (seq_lt(s, c->sb[i].start)) {
			c->sb[i].start = s;
			grew = true;
		}
		if (seq_gt(e, c->sb[i].end)) {
			c->sb[i].end = e;
			grew = true;
		}
		while (i + 1 < c->sb_n && seq_le(c->sb[i + 1].start, c->sb[i].end)) {
			c->sb[i].end = seq_max(c->sb[i].end, c->sb[i + 1].end);
			sb_remove(c, i + 1);
		}
		return grew;
	}
	if (c->sb_n == TCP_SB_MAX) {
		/* Full: the highest range matters least for the holes we retransmit next. */
		if (i == c->sb_n)
			return false;
		c->sb_n--;
	}
	memmove(&c->sb[i + 1], &c->sb[i], (c->sb_n - i) * sizeof(c->sb[0]));
	c->sb[i].start = s;
	c->sb[i].end = e;
	c->sb_n++;
	return true;
}

bool tcp_sack_update(struct tcp_conn *c, const struct tcp_opts *o)
{
	bool news = false;

	for (unsigned i = 0; i < o->n_sack; i++) {
		uint32_t s = o->sack[i].start, e = o->sack[i].end;
		/*
		 * Ignore blocks that make no sense: empty, beyond what we sent, or
		 * entirely below SND.UNA (a D-SACK, RFC 2883, which we do not use).
		 */
		if (!seq_lt(s, e) || seq_gt(e, c->snd_max) || seq_le(e, c->snd_una))
			continue;
		if (seq_lt(s, c->snd_una))
			s = c->snd_una;
		news |= sb_insert(c, s, e);
	}
	return news;
}

void tcp_sack_trim(struct tcp_conn *c)
{
	while (c->sb_n && seq_le(c->sb[0].end, c->snd_una))
		sb_remove(c, 0);
	if (c->sb_n && seq_lt(c->sb[0].start, c->snd_una))
		c->sb[0].start = c->snd_una;
}

void tcp_sack_clear(struct tcp_conn *c)
{
	c->sb_n = 0;
}

bool tcp_sack_is_sacked(const struct tcp_conn *c, uint32_t seq)
{
	for (unsigned i = 0; i < c->sb_n; i++)
		if (seq_ge(seq, c->sb[i].start) && seq_lt(seq, c->sb[i].end))
			return true;
	return false;
}

/*
 * RFC 6675 4, IsLost(SeqNum): DupThresh discontiguous SACKed sequences
 * above it, or more than (DupThresh - 1) * SMSS SACKed bytes above it.
 */
static bool dupthresh_lost(const struct tcp_conn *c, uint32_t seq)
{
	uint32_t bytes = 0, ranges = 0;

	for (unsigned i = 0; i < c->sb_n; i++) {
		if (seq_gt(c->sb[i].start, seq)) {
			bytes += c->sb[i].end - c->sb[i].start;
			ranges++;
		}
	}
	return ranges >= TCP_DUPTHRESH || bytes > (TCP_DUPTHRESH - 1) * (uint32_t)c->mss;
}

bool tcp_sack_is_lost(const struct tcp_conn *c, uint32_t seq)
{
	return (c->recovery != TCP_REC_NONE && seq_lt(seq, c->lost_below)) || dupthresh_lost(c, seq);
}

/*
 * RFC 6675 4, SetPipe(): for every octet not SACKed between HighACK and
 * HighData, one if it is not lost, plus one if it was retransmitted. Done
 * per hole: the RFC 6675 rule holds for a whole hole (the same SACKed data
 * lies above each of its octets), lost_below may cut one in two.
 */
uint32_t tcp_sack_pipe(const struct tcp_conn *c)
{
	uint32_t pipe = 0, s = c->snd_una;
	bool marks = c->recovery != TCP_REC_NONE;

	for (unsigned i = 0; i <= c->sb_n; i++) {
		uint32_t e = i < c->sb_n ? c->sb[i].start : c->snd_max;
		if (seq_lt(s, e)) {
			if (!dupthresh_lost(c, s)) {
				uint32_t from = marks && seq_lt(s, c->lost_below) ? seq_min(c->lost_below, e) : s;
				pipe += e - from;
			}
			/* Retransmitted part of the hole: octets below HighRxt. */
			if (seq_gt(c->high_rxt, s))
				pipe += seq_min(c->high_rxt, e) - s;
		}
		if (i < c->sb_n)
			s = seq_max(s, c->sb[i].end);
	}
	return pipe;
}

/*
 * RFC 6675 4, NextSeg() rules 1 and 3: the first unSACKed octet above
 * HighRxt and below the highest SACKed octet, lost per IsLost() for rule 1
 * (need_lost) or merely unSACKed for rule 3. Returns the hole from there.
 * Rule 1 also takes the stretch above the highest SACK up to lost_below
 * (after an RTO, or RACK's verdict in recovery).
 */
bool tcp_sack_next_hole(const struct tcp_conn *c, bool need_lost, uint32_t *seq, uint32_t *len)
{
	uint32_t s = seq_max(c->snd_una, c->high_rxt);

	for (unsigned i = 0; i < c->sb_n; i++) {
		uint32_t hs = c->sb[i].start;
		if (seq_lt(s, hs)) {
			if (!need_lost || tcp_sack_is_lost(c, s)) {
				*seq = s;
				*len = hs - s;
				return true;
			}
			/* Holes further up have less SACKed data above them, and lie higher: none is lost. */
			return false;
		}
		s = seq_max(s, c->sb[i].end);
	}
	if (need_lost && c->recovery != TCP_REC_NONE && seq_lt(s, c->lost_below) && seq_lt(s, c->snd_max)) {
		*seq = s;
		*len = seq_min(c->lost_below, c->snd_max) - s;
		return true;
	}
	return false;
}

/*
 * RFC 8985 6.2 step 1 (RACK.reord): an original that was never resent
 * arrived after later data had been SACKed: the path reorders. Looked at
 * before the scoreboard takes the new blocks.
 */
bool tcp_sack_reordered(const struct tcp_conn *c, const struct tcp_opts *o, uint32_t ack)
{
	if (c->sb_n == 0)
		return false;
	uint32_t hi = c->sb[c->sb_n - 1].end, floor = seq_max(c->snd_una, c->high_rxt);

	/* The cumulative ACK filled the first hole, which was never retransmitted. */
	if (seq_gt(ack, c->snd_una)) {
		bool resent = c->recovery == TCP_REC_NONE ? (c->flags & (CF_TLP_OUT | CF_TLP_RTX)) == (CF_TLP_OUT | CF_TLP_RTX)
							  : seq_gt(c->high_rxt, c->snd_una);
		if (!resent)
			return true;
	}
	for (unsigned i = 0; i < o->n_sack; i++) {
		uint32_t a = seq_max(o->sack[i].start, floor), b = seq_min(o->sack[i].end, hi);
		if (seq_lt(a, b) && seq_le(o->sack[i].end, c->snd_max) && !tcp_sack_is_sacked(c, a)) {
			bool resent = false;
			for (unsigned j = 0; j < c->rxt_n && !resent; j++)
				resent = seq_ge(a, c->rxt[j].start) && seq_lt(a, c->rxt[j].end);
			if (!resent)
				return true;
		}
	}
	return false;
}

void tcp_rxt_add(struct tcp_conn *c, uint32_t start, uint32_t end)
{
	if (c->rxt_n == TCP_RXT_MAX)
		tcp_rxt_remove(c, 0); /* the oldest is left to the RTO */
	c->rxt[c->rxt_n++] = (struct tcp_rxt){start, end, c->snd_max, 0};
}

void tcp_rxt_remove(struct tcp_conn *c, unsigned i)
{
	memmove(&c->rxt[i], &c->rxt[i + 1], (c->rxt_n - i - 1) * sizeof(c->rxt[0]));
	c->rxt_n--;
}

/* [s, e) is acknowledged or lies within one SACKed range. */
static bool delivered(const struct tcp_conn *c, uint32_t s, uint32_t e)
{
	if (seq_le(e, c->snd_una))
		return true;
	s = seq_max(s, c->snd_una);
	for (unsigned i = 0; i < c->sb_n; i++)
		if (seq_le(c->sb[i].start, s) && seq_ge(c->sb[i].end, e))
			return true;
	return false;
}

void tcp_loss_detect(struct tcp_conn *c)
{
	int last = -1;

	if (seq_lt(c->lost_below, c->snd_una))
		c->lost_below = c->snd_una;
	if (c->recovery != TCP_REC_SACK && c->recovery != TCP_REC_LOSS)
		return;
	uint32_t sacked_hi = c->sb_n ? c->sb[c->sb_n - 1].end : c->snd_una;

	/* RFC 8985 6.2 step 4: no reordering seen, in recovery: a zero reordering window. */
	if (!(c->flags & CF_REORD) && seq_gt(sacked_hi, c->lost_below))
		c->lost_below = sacked_hi;

	/* Retransmissions: the last delivered one condemns every earlier one still out. */
	for (unsigned i = 0; i < c->rxt_n; i++)
		if (delivered(c, c->rxt[i].start, c->rxt[i].end))
			last = (int)i;
	for (unsigned i = 0; i < c->rxt_n;) {
		struct tcp_rxt *r = &c->rxt[i];
		if (delivered(c, r->start, r->end)) {
			tcp_rxt_remove(c, i);
			last--;
			continue;
		}
		if ((int)i < last || seq_gt(sacked_hi, r->hi_orig))
			r->lost = 1;
		i++;
	}
}

bool tcp_rxt_next_lost(const struct tcp_conn *c, unsigned *i, uint32_t *seq, uint32_t *len)
{
	for (unsigned j = 0; j < c->rxt_n; j++) {
		const struct tcp_rxt *r = &c->rxt[j];
		if (!r->lost)
			continue;
		uint32_t s = seq_max(r->start, c->snd_una);
		*i = j;
		*seq = s;
		*len = seq_lt(s, r->end) ? r->end - s : 0;
		return true;
	}
	return false;
}

/*
 * RFC 2018 4: the first block reports the most recently received segment's
 * block; the others repeat the most recent earlier reports.
 */
void tcp_rsack_add(struct tcp_conn *c, uint32_t start, uint32_t end)
{
	struct tcp_sack_block out[TCP_RSACK_MAX];
	unsigned n = 0;

	out[n++] = (struct tcp_sack_block){start, end};
	for (unsigned i = 0; i < c->rsack_n && n < TCP_RSACK_MAX; i++) {
		const struct tcp_sack_block *b = &c->rsack[i];
		/* Covered by the new block: superseded. */
		if (seq_ge(b->start, start) && seq_le(b->end, end))
			continue;
		if (seq_lt(b->start, end) && seq_gt(b->end, start))
			continue;
		out[n++] = *b;
	}
	memcpy(c->rsack, out, n * sizeof(out[0]));
	c->rsack_n = (uint8_t)n;
}

void tcp_rsack_trim(struct tcp_conn *c)
{
	unsigned n = 0;

	for (unsigned i = 0; i < c->rsack_n; i++) {
		if (seq_le(c->rsack[i].end, c->rcv_nxt))
			continue;
		c->rsack[n] = c->rsack[i];
		if (seq_lt(c->rsack[n].start, c->rcv_nxt))
			c->rsack[n].start = c->rcv_nxt;
		n++;
	}
	c->rsack_n = (uint8_t)n;
}
