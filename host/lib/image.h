/* SPDX-License-Identifier: GPL-2.0 */
/* Disk images of driver domains: created sparse when missing, checked when present. */
#ifndef DDVM_IMAGE_H
#define DDVM_IMAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "err.h"

/**
 * ddvm_image_prepare - make sure the image of @dom exists with the size
 *	its config asks for.
 * @dom:     the domain (its disk section is used)
 * @created: set to whether the image was created now
 * @size:    set to the image's size in bytes
 * @err:     names the domain and the image
 *
 * A missing image is created sparse with exactly disk.size bytes (or the
 * default when disk.size is not given), its directory too.  An existing
 * one must be a regular file or a block device, and when disk.size is
 * given, exactly that big: ddvm never resizes or truncates a disk.  A
 * domain without a disk (a NIC only) has nothing to prepare: 0, size 0.
 *
 * Return: 0, -EINVAL on a size mismatch or unusable file, or -errno.
 */
int ddvm_image_prepare(const struct ddvm_domain_cfg *dom, bool *created, uint64_t *size,
		       struct ddvm_err *err);

#endif /* DDVM_IMAGE_H */
