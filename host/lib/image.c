// SPDX-License-Identifier: GPL-2.0
/* Creation and checking of driver domains' disk images. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"
#include "units.h"

/* mkdir -p of the directory part of @path */
static int make_parents(const char *path)
{
	char dir[DDVM_PATH_MAX];
	char *p;

	snprintf(dir, sizeof(dir), "%s", path);
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

static int create_image(const struct ddvm_domain_cfg *dom, uint64_t bytes,
			struct ddvm_err *err)
{
	const char *img = dom->disk.image;
	int fd, ret;

	ret = make_parents(img);
	if (ret)
		return ddvm_errf(err, ret, "domain %s: cannot create the directory of %s: %s",
				 dom->name, img, strerror(-ret));
	/* O_EXCL: never truncate an image that appeared meanwhile */
	fd = open(img, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return ddvm_errf(err, -errno, "domain %s: cannot create image %s: %s",
				 dom->name, img, strerror(errno));
	if (ftruncate(fd, (off_t)bytes)) {
		ret = ddvm_errf(err, -errno, "domain %s: cannot size image %s: %s",
				dom->name, img, strerror(errno));
		close(fd);
		unlink(img);
		return ret;
	}
	close(fd);
	return 0;
}

int ddvm_image_prepare(const struct ddvm_domain_cfg *dom, bool *created, uint64_t *size,
		       struct ddvm_err *err)
{
	const char *img = dom->disk.image;
	uint64_t have, want = dom->disk.size;
	char a[24], b[24];
	struct stat st;
	int fd, ret;

	*created = false;
	*size = 0;
	/* a NIC-only domain has no image to prepare */
	if (dom->has_nic && !dom->has_disk)
		return 0;
	if (stat(img, &st)) {
		if (errno != ENOENT)
			return ddvm_errf(err, -errno, "domain %s: image %s: %s", dom->name, img,
					 strerror(errno));
		if (!want)
			want = DDVM_DEFAULT_DISK_SIZE;
		ret = create_image(dom, want, err);
		if (ret)
			return ret;
		*created = true;
		*size = want;
		return 0;
	}
	if (S_ISREG(st.st_mode)) {
		have = (uint64_t)st.st_size;
	} else if (S_ISBLK(st.st_mode)) {
		fd = open(img, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return ddvm_errf(err, -errno, "domain %s: image %s: %s", dom->name, img,
					 strerror(errno));
		ret = ioctl(fd, BLKGETSIZE64, &have);
		close(fd);
		if (ret)
			return ddvm_errf(err, -errno, "domain %s: image %s: size: %s", dom->name,
					 img, strerror(errno));
	} else {
		return ddvm_errf(err, -EINVAL,
				 "domain %s: image %s is neither a regular file nor a block device",
				 dom->name, img);
	}
	if (access(img, R_OK | W_OK))
		return ddvm_errf(err, -errno, "domain %s: image %s: %s", dom->name, img,
				 strerror(errno));
	if (want && have != want)
		return ddvm_errf(err, -EINVAL,
				 "domain %s: image %s is %s (%llu bytes) but disk.size is %s; "
				 "ddvm never resizes a disk: fix disk.size or the image",
				 dom->name, img, ddvm_format_size(have, a, sizeof(a)),
				 (unsigned long long)have, ddvm_format_size(want, b, sizeof(b)));
	if (!have || have % 512)
		return ddvm_errf(err, -EINVAL,
				 "domain %s: image %s is %llu bytes, not a non-zero multiple of 512",
				 dom->name, img, (unsigned long long)have);
	*size = have;
	return 0;
}
