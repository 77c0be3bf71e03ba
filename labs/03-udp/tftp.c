/*
 * tftp.c - build TFTP packets and take them apart; see tftp.h.
 *
 * Usage: linked into tftpd, tftpget and the Check tests.
 *
 * Wire format: RFC 1350, with the options of RFC 2347 (RFC 2348 and 2349
 * define blksize, timeout and tsize; to the codec they are plain strings).
 *
 * See also tftp.h, xfer.c, tests/check_tftp.c (every case is there).
 */
#include "tftp.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

ssize_t tftp_encode_request(uint8_t *buf, size_t size, enum tftp_opcode opcode,
                            const char *filename, const char *mode,
                            const struct tftp_option *options, size_t n_options)
{
    /* TODO(student): refuse what no packet can carry (EINVAL, see tftp.h), then measure the
     * whole packet (opcode, filename, mode, each option's name and value, every string with
     * its NUL) and fail with ENOSPC unless it fits in size; only then write it, the opcode in
     * network byte order. Measure with care: a sum of long strings must not wrap around. */
    (void)buf;
    (void)size;
    (void)opcode;
    (void)filename;
    (void)mode;
    (void)options;
    (void)n_options;
    errno = ENOSYS;
    return -1;
}

ssize_t tftp_encode_data(uint8_t *buf, size_t size, uint16_t block, const void *data,
                         size_t data_len)
{
    /* TODO(student): EINVAL past TFTP_MAX_BLKSIZE, ENOSPC unless 4 + data_len bytes fit; then
     * opcode, block and the data. The data may already sit at buf + 4 (a sender may read the
     * file straight there): memcpy onto itself is undefined, so skip it or use memmove. */
    (void)buf;
    (void)size;
    (void)block;
    (void)data;
    (void)data_len;
    errno = ENOSYS;
    return -1;
}

ssize_t tftp_encode_ack(uint8_t *buf, size_t size, uint16_t block)
{
    /* TODO(student): 4 bytes, opcode and block, both in network byte order. */
    (void)buf;
    (void)size;
    (void)block;
    errno = ENOSYS;
    return -1;
}

ssize_t tftp_encode_error(uint8_t *buf, size_t size, uint16_t code, const char *message)
{
    /* TODO(student): opcode, code, then the message with its NUL (tftp_error_text(code) when
     * message is NULL); ENOSPC unless it all fits. */
    (void)buf;
    (void)size;
    (void)code;
    (void)message;
    errno = ENOSYS;
    return -1;
}

ssize_t tftp_encode_oack(uint8_t *buf, size_t size, const struct tftp_option *options,
                         size_t n_options)
{
    /* TODO(student): the opcode, then the options as in a request (same checks, same
     * measuring before writing). */
    (void)buf;
    (void)size;
    (void)options;
    (void)n_options;
    errno = ENOSYS;
    return -1;
}

int tftp_decode(const uint8_t *buf, size_t len, struct tftp_packet *p, const char **why)
{
    /* TODO(student): read the opcode (network byte order), then take the packet apart as its
     * opcode says (tftp.h lists every way it can be malformed). Never read buf[len] or past:
     * look for a string's NUL with memchr bounded by what is left, not with strlen. Point
     * into buf; copy nothing. On failure set *why (unless why is NULL) to a short static
     * string. */
    (void)buf;
    (void)len;
    (void)p;
    if (why != NULL)
        *why = "tftp_decode is not written yet";
    return -1;
}

const char *tftp_option_value(const struct tftp_packet *p, const char *name)
{
    /* TODO(student): the value of the first of p's options whose name matches, ignoring case
     * (strcasecmp); NULL if there is none. */
    (void)p;
    (void)name;
    return NULL;
}

const char *tftp_error_text(uint16_t code)
{
    static const char *const texts[] = {
        [TFTP_EUNDEF] = "Not defined",
        [TFTP_ENOTFOUND] = "File not found",
        [TFTP_EACCESS] = "Access violation",
        [TFTP_ENOSPACE] = "Disk full or allocation exceeded",
        [TFTP_EBADOP] = "Illegal TFTP operation",
        [TFTP_EBADID] = "Unknown transfer ID",
        [TFTP_EEXISTS] = "File already exists",
        [TFTP_ENOUSER] = "No such user",
        [TFTP_EOPTNEG] = "Option negotiation refused",
    };
    return code < sizeof texts / sizeof texts[0] ? texts[code] : "Unknown error";
}

const char *tftp_opcode_name(int opcode)
{
    switch (opcode) {
    case TFTP_RRQ: return "RRQ";
    case TFTP_WRQ: return "WRQ";
    case TFTP_DATA: return "DATA";
    case TFTP_ACK: return "ACK";
    case TFTP_ERROR: return "ERROR";
    case TFTP_OACK: return "OACK";
    default: return "opcode?";
    }
}
