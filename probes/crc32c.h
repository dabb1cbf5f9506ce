/* SPDX-License-Identifier: MIT */
/*
 * CRC32C (Castagnoli, iSCSI/ext4/btrfs polynomial 0x1EDC6F41, reflected),
 * the checksum of every native trace block (docs/trace-format.md).
 * gs_crc32c(0, "123456789", 9) == 0xE3069283.
 */
#ifndef GILSCOPE_CRC32C_H
#define GILSCOPE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues crc (0 to start) over n more bytes. */
uint32_t gs_crc32c(uint32_t crc, const void *buf, size_t n);
/* The same without the CPU instruction (tests compare the two). */
uint32_t gs_crc32c_portable(uint32_t crc, const void *buf, size_t n);

#endif
