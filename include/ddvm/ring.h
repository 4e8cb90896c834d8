/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The single-producer/single-consumer ring fast path, inline, shared by the
 * DD/OS modules and libddvm so both sides run the same checked code.
 *
 * Each side keeps a private struct ddvm_ring built from a layout it has
 * checked (ddvm_ring_init); nothing here re-reads the layout from shared
 * memory.  The only values read from the peer are its index and its event
 * index, and every index read is checked against the ring size: a peer that
 * moves an index impossibly gets -EPROTO, never an overrun.
 *
 * Barrier pairing, the one place it is written down:
 *  - producer fills an entry, then store_release(prod);  consumer
 *    load_acquire(prod), then reads entries below it.
 *  - consumer copies an entry out, then store_release(cons);  producer
 *    load_acquire(cons), then reuses slots below it.
 *  - producer store(prod); mb; load(cons_event)   pairs with
 *    consumer store(cons_event); mb; load(prod)   so that either the
 *    producer sees the new event and rings, or the consumer sees the new
 *    entries and does not sleep (no lost wake-up).  The same for
 *    cons/prod_event in the other direction.
 */
#ifndef _DDVM_RING_H
#define _DDVM_RING_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/errno.h>
#include <linux/string.h>
#else
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
#endif

#include "../uapi/ddvm/channel.h"
#include "barrier.h"

struct ddvm_ring {
	struct ddvm_ring_ctl *ctl;	/* in the shared region */
	unsigned char *entries;		/* in the shared region */
	u32 mask;			/* entries - 1 */
	u32 entry_size;
	u32 local;	/* producer: next slot to fill; consumer: next to take */
	u32 peer;	/* last peer index seen and checked */
};

/*
 * ddvm_ring_layout_check - is @l a sane ring inside a region of @size bytes?
 * @l: a private copy of the layout (never the shared one)
 * @entry_size: the ABI entry size this ring must have
 * @size: region size
 *
 * Return: 0, or -EINVAL if the ring does not fit the rules.  Overlap with
 * other rings is the caller's check (ddvm_ranges_overlap).
 */
static inline int ddvm_ring_layout_check(const struct ddvm_ring_layout *l,
					 u32 entry_size, u64 size)
{
	u64 bytes;

	if (l->entries == 0 || l->entries > DDVM_RING_MAX_ENTRIES ||
	    (l->entries & (l->entries - 1)))
		return -EINVAL;
	if (l->entry_size != entry_size)
		return -EINVAL;
	if (l->off < DDVM_HDR_SIZE || (l->off & 63) || l->off >= size)
		return -EINVAL;
	bytes = DDVM_RING_CTL_SIZE + (u64)l->entries * entry_size;
	if (bytes > size - l->off)
		return -EINVAL;
	return 0;
}

static inline u64 ddvm_ring_bytes(const struct ddvm_ring_layout *l)
{
	return DDVM_RING_CTL_SIZE + (u64)l->entries * l->entry_size;
}

/* Do [a, a + alen) and [b, b + blen) overlap?  Both already inside the region. */
static inline bool ddvm_ranges_overlap(u64 a, u64 alen, u64 b, u64 blen)
{
	return a < b + blen && b < a + alen;
}

/* Bind a private ring view to a checked layout over @base. */
static inline void ddvm_ring_init(struct ddvm_ring *r, void *base,
				  const struct ddvm_ring_layout *l)
{
	r->ctl = (struct ddvm_ring_ctl *)((unsigned char *)base + l->off);
	r->entries = (unsigned char *)r->ctl + DDVM_RING_CTL_SIZE;
	r->mask = l->entries - 1;
	r->entry_size = l->entry_size;
	r->local = 0;
	r->peer = 0;
}

/* The client zeroes a ring's indices when it lays the ring out. */
static inline void ddvm_ring_reset(struct ddvm_ring *r)
{
	ddvm_store_once(&r->ctl->prod, 0);
	ddvm_store_once(&r->ctl->cons, 0);
	ddvm_store_once(&r->ctl->cons_event, 0);
	ddvm_store_once(&r->ctl->prod_event, 0);
	r->local = 0;
	r->peer = 0;
}

static inline void *ddvm_ring_entry(struct ddvm_ring *r, u32 idx)
{
	return r->entries + (size_t)(idx & r->mask) * r->entry_size;
}

/* virtio's vring_need_event, on 32-bit free-running indices */
static inline bool ddvm_need_event(u32 event, u32 new_idx, u32 old_idx)
{
	return (u32)(new_idx - event - 1) < (u32)(new_idx - old_idx);
}

/* ---------------------------------------------------------------- producer */

/*
 * ddvm_ring_free - slots the producer may fill now.
 * Return: free slots (>= 0), or -EPROTO if the consumer's index is
 * impossible (behind what it already consumed, or ahead of what we produced).
 */
static inline int ddvm_ring_free(struct ddvm_ring *r)
{
	u32 cons = ddvm_load_acquire(&r->ctl->cons);
	u32 used = r->local - cons;

	/* valid: r->peer <= cons <= r->local (r->local - r->peer <= entries) */
	if ((u32)(cons - r->peer) > (u32)(r->local - r->peer))
		return -EPROTO;
	r->peer = cons;
	return (int)(r->mask + 1 - used);
}

/* Slot to fill next; the caller checked ddvm_ring_free() > 0. */
static inline void *ddvm_ring_next(struct ddvm_ring *r)
{
	return ddvm_ring_entry(r, r->local);
}

/*
 * ddvm_ring_publish - make entries filled since @old visible.
 * @old: r->local before the caller filled (and advanced local for) them
 *
 * Return: true if the consumer asked to be woken.
 */
static inline bool ddvm_ring_publish(struct ddvm_ring *r, u32 old)
{
	ddvm_store_release(&r->ctl->prod, r->local);
	ddvm_mb();
	return ddvm_need_event(ddvm_load_once(&r->ctl->cons_event), r->local, old);
}

/* ---------------------------------------------------------------- consumer */

/*
 * ddvm_ring_avail - entries ready for the consumer.
 * Return: count (>= 0), or -EPROTO if the producer claims more than the ring
 * holds or moved its index backwards.
 */
static inline int ddvm_ring_avail(struct ddvm_ring *r)
{
	u32 prod = ddvm_load_acquire(&r->ctl->prod);
	u32 avail = prod - r->local;

	/* valid: r->peer <= prod <= r->local + entries (r->peer >= r->local) */
	if ((u32)(prod - r->peer) > r->mask + 1 - (u32)(r->peer - r->local))
		return -EPROTO;
	r->peer = prod;
	return (int)avail;
}

/*
 * Copy the next entry out (the peer may change the slot at any time; we use
 * only our copy) and advance.  The caller checked ddvm_ring_avail() > 0.
 */
static inline void ddvm_ring_take(struct ddvm_ring *r, void *out)
{
	memcpy(out, ddvm_ring_entry(r, r->local), r->entry_size);
	r->local++;
}

/*
 * ddvm_ring_consumed - hand the slots taken back to the producer.
 * @old: r->local before the caller took them
 *
 * Return: true if the producer asked to be woken for room.
 */
static inline bool ddvm_ring_consumed(struct ddvm_ring *r, u32 old)
{
	ddvm_store_release(&r->ctl->cons, r->local);
	ddvm_mb();
	return ddvm_need_event(ddvm_load_once(&r->ctl->prod_event), r->local, old);
}

/*
 * ddvm_ring_arm - ask to be woken by the next entry, then look again.
 * Return: as ddvm_ring_avail(); if > 0 the caller must not sleep.
 */
static inline int ddvm_ring_arm(struct ddvm_ring *r)
{
	ddvm_store_once(&r->ctl->cons_event, r->local);
	ddvm_mb();
	return ddvm_ring_avail(r);
}

/*
 * ddvm_ring_arm_room - producer asks to be woken when the consumer frees
 * slots, then looks again.  Return: as ddvm_ring_free().
 */
static inline int ddvm_ring_arm_room(struct ddvm_ring *r)
{
	ddvm_store_once(&r->ctl->prod_event, r->peer);
	ddvm_mb();
	return ddvm_ring_free(r);
}

#endif /* _DDVM_RING_H */
