/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Memory ordering for data shared with another VM, spelled once for the
 * kernel and for user space.
 *
 * In a guest kernel we must use the virt_* variants: a guest built without
 * SMP turns smp_* into compiler barriers, but its peer runs on another CPU.
 * In user space the C11 builtins give the same acquire/release semantics.
 */
#ifndef _DDVM_BARRIER_H
#define _DDVM_BARRIER_H

#ifdef __KERNEL__
#include <asm/barrier.h>
#include <linux/compiler.h>

#define ddvm_load_acquire(p)		virt_load_acquire(p)
#define ddvm_store_release(p, v)	virt_store_release(p, v)
#define ddvm_load_once(p)		READ_ONCE(*(p))
#define ddvm_store_once(p, v)		WRITE_ONCE(*(p), v)
#define ddvm_mb()			virt_mb()
#else
#define ddvm_load_acquire(p)		__atomic_load_n(p, __ATOMIC_ACQUIRE)
#define ddvm_store_release(p, v)	__atomic_store_n(p, v, __ATOMIC_RELEASE)
#define ddvm_load_once(p)		__atomic_load_n(p, __ATOMIC_RELAXED)
#define ddvm_store_once(p, v)		__atomic_store_n(p, v, __ATOMIC_RELAXED)
#define ddvm_mb()			__atomic_thread_fence(__ATOMIC_SEQ_CST)
#endif

#endif /* _DDVM_BARRIER_H */
