/* SPDX-License-Identifier: GPL-2.0 */
/* `ddvm blk nbd`: a block channel as an NBD export, through nbdkit and the ddvm plugin. */
#ifndef DDVM_CLI_BLK_NBD_H
#define DDVM_CLI_BLK_NBD_H

/* argv: "nbd" CHANNEL --socket PATH.  Return: the command's exit status. */
int blk_nbd(int argc, char **argv);

#endif /* DDVM_CLI_BLK_NBD_H */
