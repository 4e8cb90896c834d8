/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * ddvm channel ABI: the layout of one shared region between one server (the
 * translation module in a DD/OS) and one client.  Shared by the kernel
 * modules and the host library; this header is the contract.
 *
 * One channel is one ivshmem region.  The region is zero when the hub creates
 * it and outlives both peers, so a restarted DD/OS finds what its predecessor
 * left.  The ABI is little-endian (x86-64 is the only host and guest ddvm
 * runs on); both sides assert it at build time.
 *
 *   0          512        1024       4096                           size
 *   +----------+----------+----------+----------------+------------+
 *   | server   | client   | reserved | rings ...      | data area  |
 *   | block    | block    |          | (client lays   | (client    |
 *   | (srv)    | (cli)    |          |  them out)     |  buffers)  |
 *   +----------+----------+----------+----------------+------------+
 *
 * Every byte of the region is writable by both peers, so "written by" below
 * is a promise of an honest peer, not a protection: each side copies what the
 * other wrote once into private memory and checks it before use.
 *
 * Ownership: the server writes only the server block, the consumer index of
 * the rings it consumes, the producer index of the rings it produces, and
 * the data area where a request tells it to (reads).  The client writes the
 * rest.  The client owns the layout: it places the rings and the data area
 * and describes them by offsets in the client block.
 *
 * Handshake (generation is a per-region epoch; doorbells are only wake-ups):
 *  1. A server attaches: it reads srv.generation, writes generation + 1,
 *     its device info and peer_id, then state = WAIT (release), and rings the
 *     client if cli.peer_id names one.
 *  2. A client that finds srv.state WAIT lays out the rings (indices zero),
 *     writes cli.* with cli.generation = srv.generation, then cli.state =
 *     READY (release), and rings the server.
 *  3. The server in WAIT that sees cli.state READY for its generation copies
 *     and checks the layout: RUN if good, ERROR with srv.error if not.
 *  4. A client that wants a clean start while srv.state is RUN writes
 *     cli.state = RESET and rings; the server drains its in-flight I/O,
 *     bumps the generation and goes back to WAIT (step 1 without a reboot).
 *  5. A client that sees srv.generation change under it knows the server is
 *     new: everything it had in flight is void; it lays out again (step 2)
 *     and resubmits.
 */
#ifndef _UAPI_DDVM_CHANNEL_H
#define _UAPI_DDVM_CHANNEL_H

#include <linux/types.h>

#define DDVM_MAGIC		0x4d564444u	/* "DDVM" in memory */
#define DDVM_VERSION		1		/* incompatible changes bump it */

#define DDVM_SRV_OFFSET		0
#define DDVM_CLI_OFFSET		512
#define DDVM_HDR_SIZE		4096		/* rings and data start at or after this */
#define DDVM_HEARTBEAT_MS	100		/* server advances srv.heartbeat at least this often */
#define DDVM_MAX_RINGS		4
#define DDVM_RING_MAX_ENTRIES	4096
#define DDVM_DOORBELL_VECTOR	0		/* the one MSI-X vector / eventfd per peer */

enum ddvm_chan_type {
	DDVM_CHAN_BLK = 1,
	DDVM_CHAN_NET = 2,
};

enum ddvm_srv_state {
	DDVM_SRV_DOWN = 0,	/* nobody has served this region yet */
	DDVM_SRV_WAIT = 1,	/* server attached, waiting for the client's layout */
	DDVM_SRV_RUN = 2,	/* serving the rings */
	DDVM_SRV_ERROR = 3,	/* layout rejected (srv.error says why); lay out again */
	DDVM_SRV_FAILED = 4,	/* the device failed (srv.error); a restart is needed */
	DDVM_SRV_STOPPED = 5,	/* server detached cleanly (module unload, shutdown) */
};

enum ddvm_cli_state {
	DDVM_CLI_NONE = 0,
	DDVM_CLI_READY = 1,	/* layout valid for cli.generation */
	DDVM_CLI_RESET = 2,	/* client asks for a fresh generation */
};

/* Why srv.state is ERROR or FAILED. */
enum ddvm_chan_error {
	DDVM_ERR_NONE = 0,
	DDVM_ERR_VERSION = 1,	/* cli.version or cli.magic not understood */
	DDVM_ERR_TYPE = 2,	/* cli.type is not what this server serves */
	DDVM_ERR_LAYOUT = 3,	/* a ring or the data area is out of bounds or overlaps */
	DDVM_ERR_RING = 4,	/* a ring index moved impossibly (more than its size) */
	DDVM_ERR_IO_TIMEOUT = 5, /* the device did not complete a request in time */
	DDVM_ERR_DEVICE = 6,	/* the exported device went away */
	DDVM_ERR_FEATURES = 7,	/* cli.features asks for what srv.features lacks */
};

/* Feature bits, offered in srv.features and accepted in cli.features. */
#define DDVM_F_EVENT_IDX	(1ull << 0)	/* ring cons_event/prod_event are honoured */
#define DDVM_F_NET_OFFLOAD	(1ull << 1)	/* net: offload headers, chained frames (below) */

/*
 * A ring: a control block of four indices on separate cache lines, then
 * entries.  Indices are free-running u32; entry i lives at i & (entries - 1).
 * The producer writes prod and prod_event, the consumer cons and cons_event.
 * Notification suppression as in virtio's event index: the producer rings
 * only when prod passes cons_event, the consumer only when cons passes
 * prod_event (a producer that waits for room sets it).
 *
 * A server advances cons past a request before it posts that request's
 * completion, so a client that keeps at most `entries` requests outstanding
 * (submitted and not yet reaped) never finds the request ring full.
 */
struct ddvm_ring_ctl {
	__u32 prod;		/* producer: next entry it will fill */
	__u8 pad0[60];
	__u32 cons;		/* consumer: next entry it will take */
	__u8 pad1[60];
	__u32 cons_event;	/* consumer: ring me when prod passes this */
	__u8 pad2[60];
	__u32 prod_event;	/* producer: ring me when cons passes this */
	__u8 pad3[60];
};

#define DDVM_RING_CTL_SIZE	256	/* entries start this far after ring off */

/* Where a ring lives, written by the client into cli.rings[]. */
struct ddvm_ring_layout {
	__u64 off;		/* from region start, 64-byte aligned */
	__u32 entries;		/* power of two, 1..DDVM_RING_MAX_ENTRIES */
	__u32 entry_size;	/* must equal the ABI size of the ring's entry */
};

/* ------------------------------------------------------------------ block */

/* blk ring indices in cli.rings[] */
#define DDVM_BLK_RING_REQ	0	/* client -> server: struct ddvm_blk_req */
#define DDVM_BLK_RING_CMP	1	/* server -> client: struct ddvm_blk_cmp */
#define DDVM_BLK_NR_RINGS	2

enum ddvm_blk_op {
	DDVM_BLK_READ = 0,
	DDVM_BLK_WRITE = 1,
	DDVM_BLK_FLUSH = 2,		/* offset, len, data_off ignored */
	DDVM_BLK_DISCARD = 3,		/* data_off ignored */
	DDVM_BLK_WRITE_ZEROES = 4,	/* data_off ignored */
};

#define DDVM_BLK_REQ_FUA	(1u << 0)	/* write: durable before completion */

/* srv.blk.flags */
#define DDVM_BLK_F_FLUSH	(1ull << 0)	/* volatile cache: FLUSH means something */
#define DDVM_BLK_F_FUA		(1ull << 1)	/* native FUA (else emulated by a flush) */
#define DDVM_BLK_F_DISCARD	(1ull << 2)
#define DDVM_BLK_F_WRITE_ZEROES	(1ull << 3)
#define DDVM_BLK_F_READ_ONLY	(1ull << 4)

enum ddvm_blk_status {
	DDVM_BLK_S_OK = 0,
	DDVM_BLK_S_IOERR = 1,		/* the device reported an error */
	DDVM_BLK_S_INVAL = 2,		/* malformed: op, alignment, length, data_off */
	DDVM_BLK_S_RANGE = 3,		/* beyond the end of the device */
	DDVM_BLK_S_UNSUPP = 4,		/* op not supported by the device */
	DDVM_BLK_S_RDONLY = 5,		/* write to a read-only export */
};

struct ddvm_blk_req {
	__u64 id;		/* client's cookie, echoed in the completion */
	__u64 offset;		/* bytes on the device, multiple of logical_block_size */
	__u64 data_off;		/* bytes into the data area, multiple of logical_block_size */
	__u32 len;		/* bytes, multiple of logical_block_size, <= max_transfer */
	__u16 op;		/* enum ddvm_blk_op */
	__u16 flags;		/* DDVM_BLK_REQ_* */
};

struct ddvm_blk_cmp {
	__u64 id;		/* the request's id */
	__u32 status;		/* enum ddvm_blk_status */
	__u32 rsvd;
};

/* Device description in srv.blk, valid from WAIT on. */
struct ddvm_blk_info {
	__u64 capacity;			/* bytes */
	__u32 logical_block_size;	/* power of two, 512..4096 */
	__u32 physical_block_size;
	__u32 max_transfer;		/* bytes per request */
	__u32 max_inflight;		/* requests the server will have in flight */
	__u64 flags;			/* DDVM_BLK_F_* */
	char export_name[64];		/* what the DD/OS exports, NUL-terminated */
	char driver[32];		/* the Linux driver behind it, NUL-terminated */
};

/* -------------------------------------------------------------------- net */

/*
 * A net channel gives one client one Ethernet address on the DD/OS's NIC.
 * Frames travel in fixed buffers of DDVM_NET_BUF_SIZE bytes: the data area
 * holds the TX ring's buffers, then the RX ring's, one per ring entry, so
 * entry i of a ring always uses buffer i & (entries - 1) of that ring and a
 * descriptor carries only a length.  A buffer belongs to the ring's
 * producer until the consumer's index passes its entry.
 *
 *   data area: | TX buf 0 | ... | TX buf n-1 | RX buf 0 | ... | RX buf m-1 |
 *
 * The DD/OS drops a client's frame (and counts it) when it is shorter than
 * an Ethernet header, longer than the NIC's MTU allows, or not from the
 * client's own address; it drops a received frame for a client whose RX
 * ring is full.  A frame reaches only the client it is addressed to;
 * broadcast and multicast reach every client.
 */
#define DDVM_NET_RING_TX	0	/* client -> server: frames to send */
#define DDVM_NET_RING_RX	1	/* server -> client: frames received */
#define DDVM_NET_NR_RINGS	2
#define DDVM_NET_BUF_SIZE	2048	/* per frame buffer; frames up to 1522 bytes */
#define DDVM_NET_MIN_FRAME	14	/* an Ethernet header */

struct ddvm_net_desc {
	__u16 len;		/* bytes of frame in the entry's buffer (no FCS) */
	__u16 flags;		/* 0; with DDVM_F_NET_OFFLOAD: DDVM_NET_DESC_* */
	__u32 rsvd;
};

/*
 * Offloads (DDVM_F_NET_OFFLOAD, when the client accepted it): checksum and
 * segmentation work travels with the frame, as between a virtio-net driver
 * and its device, so a TCP stream crosses the channel as 64 KiB frames the
 * NIC (or the DD/OS's software GSO) cuts into segments, and received
 * segments the DD/OS's GRO merged cross it as one frame.  Without the
 * feature nothing below applies and the channel is as described above.
 *
 * Every frame, both ways, is then a struct ddvm_net_hdr followed by the
 * Ethernet frame, spread over one or more consecutive ring entries (a
 * chain): every entry but the last carries DDVM_NET_DESC_MORE and a full
 * buffer (len == DDVM_NET_BUF_SIZE), the last one 1..DDVM_NET_BUF_SIZE
 * bytes and no MORE.  The header starts the first entry's buffer and
 * counts in its len; the frame's bytes follow it, contiguous in the data
 * area except where the chain wraps from the ring's last buffer to its
 * first.  A chain is at most DDVM_NET_CHAIN_MAX entries; both rings then
 * have at least DDVM_NET_OFFLOAD_MIN_ENTRIES entries.  A producer
 * publishes whole chains only: a consumer that finds a chain cut by the
 * producer index treats the ring as broken (DDVM_ERR_RING).
 *
 * Header rules (include/ddvm/check.h, ddvm_net_hdr_check, is the
 * reference; both peers check what they receive, and a frame that breaks
 * one is dropped and counted, never a crash):
 *  - flags: only NEEDS_CSUM and DATA_VALID; rsvd 0.
 *  - gso_type NONE: gso_size and hdr_len 0; the frame at most the NIC's
 *    MTU plus DDVM_NET_FRAME_OVERHEAD bytes.
 *  - NEEDS_CSUM: the 16-bit Internet checksum over the frame from
 *    csum_start to its end, seeded by what is stored at csum_start +
 *    csum_offset, belongs at csum_start + csum_offset; csum_start at least
 *    an Ethernet header in, those two bytes inside the frame.
 *  - DATA_VALID (server to client only; ignored from a client): the DD/OS
 *    verified the frame's transport checksum.
 *  - gso_type TCPV4, TCPV6 (optionally | ECN) or UDP_L4: NEEDS_CSUM set;
 *    an Ethernet header (at most one VLAN tag), IPv4 (no fragment) or IPv6
 *    (no extension header) carrying TCP or UDP as the type says; csum_start
 *    at that transport header, csum_offset at its checksum field; hdr_len
 *    the bytes up to the end of the transport header (a TCP header whose
 *    data offset fits the frame); gso_size the payload bytes per segment,
 *    at least DDVM_NET_GSO_SIZE_MIN, small enough that a segment (hdr_len +
 *    gso_size) fits the MTU as above, at most DDVM_NET_GSO_MAX_SEGS
 *    segments (DDVM_NET_UDP_MAX_SEGS for UDP); the whole frame at most
 *    DDVM_NET_OFFLOAD_MAX_FRAME bytes.
 */
#define DDVM_NET_DESC_MORE		(1u << 0)	/* the frame goes on in the next entry */
#define DDVM_NET_OFFLOAD_MAX_FRAME	65664	/* bytes of an offloaded frame, header excluded */
#define DDVM_NET_CHAIN_MAX		33	/* entries of one frame: the above and its header */
#define DDVM_NET_OFFLOAD_MIN_ENTRIES	64	/* per ring, with DDVM_F_NET_OFFLOAD */
#define DDVM_NET_GSO_SIZE_MIN		8
#define DDVM_NET_GSO_MAX_SEGS		1024
#define DDVM_NET_UDP_MAX_SEGS		128	/* the Linux UDP GSO limit */
#define DDVM_NET_FRAME_OVERHEAD		18	/* Ethernet header and one VLAN tag, over the MTU */

/* Values as in virtio-net, so a virtio or tap peer passes them through. */
#define DDVM_NET_HDR_F_NEEDS_CSUM	1
#define DDVM_NET_HDR_F_DATA_VALID	2
#define DDVM_NET_GSO_NONE		0
#define DDVM_NET_GSO_TCPV4		1
#define DDVM_NET_GSO_TCPV6		4
#define DDVM_NET_GSO_UDP_L4		5
#define DDVM_NET_GSO_ECN		0x80

/* Byte for byte a struct virtio_net_hdr_v1 (little-endian), num_buffers as rsvd. */
struct ddvm_net_hdr {
	__u8 flags;		/* DDVM_NET_HDR_F_* */
	__u8 gso_type;		/* DDVM_NET_GSO_* */
	__u16 hdr_len;		/* GSO: bytes of headers, Ethernet to transport */
	__u16 gso_size;		/* GSO: payload bytes per segment */
	__u16 csum_start;	/* NEEDS_CSUM: from the Ethernet header */
	__u16 csum_offset;	/* NEEDS_CSUM: of the checksum field, from csum_start */
	__u16 rsvd;		/* 0 */
};

/* NIC description and this client's counters in srv.net, valid from WAIT on. */
struct ddvm_net_info {
	__u8 mac[6];		/* this client's address, fixed by the DD/OS's config */
	__u16 mtu;		/* of the NIC */
	__u32 link_up;		/* 1 while the NIC has carrier */
	__u32 buf_size;		/* DDVM_NET_BUF_SIZE */
	__u32 rsvd0;
	__u64 rx_frames;	/* delivered to this client */
	__u64 rx_dropped;	/* for this client, dropped because its RX ring was full */
	__u64 tx_frames;	/* sent for this client */
	__u64 tx_dropped;	/* from this client, dropped as malformed, oversized or spoofed */
	char ifname[16];	/* the NIC in the DD/OS, NUL-terminated */
	char driver[32];	/* its Linux driver, NUL-terminated */
	__u64 tx_bad_hdr;	/* of tx_dropped: offload header or chain refused */
	__u64 rx_segmented;	/* GSO frames cut into segments for this client (no offload) */
};

/* ------------------------------------------------------------- the header */

/* Server block, at DDVM_SRV_OFFSET.  Written by the server only. */
struct ddvm_srv_block {
	__u32 magic;		/* DDVM_MAGIC once the block is valid */
	__u16 version;		/* DDVM_VERSION */
	__u16 type;		/* enum ddvm_chan_type served */
	__u32 state;		/* enum ddvm_srv_state, written last (release) */
	__u32 generation;	/* epoch; +1 at every attach or reset */
	__u32 peer_id;		/* server's ivshmem peer id: the client rings it */
	__u32 error;		/* enum ddvm_chan_error when state is ERROR/FAILED */
	__u64 features;		/* DDVM_F_* offered */
	__u64 heartbeat;	/* advanced every DDVM_HEARTBEAT_MS while attached */
	__u64 completed;	/* requests completed in this generation (statistics) */
	__u8 rsvd0[16];
	union {
		struct ddvm_blk_info blk;
		struct ddvm_net_info net;
		__u8 raw[256];
	};
	__u8 rsvd1[192];
};

/* Client block, at DDVM_CLI_OFFSET.  Written by the client only. */
struct ddvm_cli_block {
	__u32 magic;		/* DDVM_MAGIC */
	__u16 version;		/* DDVM_VERSION */
	__u16 type;		/* enum ddvm_chan_type expected */
	__u32 state;		/* enum ddvm_cli_state, written last (release) */
	__u32 generation;	/* srv.generation this layout is for */
	__u32 peer_id;		/* client's ivshmem peer id: the server rings it */
	__u32 nr_rings;		/* used entries of rings[] */
	__u64 features;		/* accepted subset of srv.features */
	struct ddvm_ring_layout rings[DDVM_MAX_RINGS];
	__u64 data_off;		/* data area: from region start, 4096-aligned */
	__u64 data_size;	/* bytes */
	__u8 rsvd[400];
};

#endif /* _UAPI_DDVM_CHANNEL_H */
