/*
 * tftp.h - TFTP packets (RFC 1350, with the options of RFC 2347-2349):
 * building them into a buffer and taking them apart, with nothing else.
 *
 * Usage:
 *     uint8_t buf[TFTP_MAX_PACKET];
 *     ssize_t n = tftp_encode_ack(buf, sizeof buf, 7);        // 00 04 00 07
 *     ...
 *     struct tftp_packet p;
 *     const char *why;
 *     if (tftp_decode(buf, len, &p, &why) == -1)
 *         warn("malformed packet: %s", why);                  // "no opcode"
 *     else if (p.opcode == TFTP_DATA)
 *         write(fd, p.data, p.data_len);
 *
 * Wire format (all numbers two bytes, network byte order; strings end in
 * a NUL byte):
 *     RRQ/WRQ  | 1 or 2 | filename | 0 | mode | 0 | [ option | 0 | value | 0 ]...
 *     DATA     | 3 | block | 0 to blksize bytes
 *     ACK      | 4 | block
 *     ERROR    | 5 | code | message | 0
 *     OACK     | 6 | [ option | 0 | value | 0 ]...
 *
 * Decoding never copies: the strings and data of a decoded packet point
 * into the buffer it was decoded from. Neither side allocates, prints or
 * exits. Malformed input of any kind fails cleanly with a reason.
 *
 * See also tftp.c, xfer.h (a transfer), tftpd.c and tftpget.c.
 */
#ifndef NETLAB_TFTP_H
#define NETLAB_TFTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TFTP_DEFAULT_BLKSIZE 512
#define TFTP_MIN_BLKSIZE 8     /* RFC 2348's range */
#define TFTP_MAX_BLKSIZE 65464
#define TFTP_MAX_PACKET (4 + TFTP_MAX_BLKSIZE)
#define TFTP_MAX_OPTIONS 8     /* more in one packet: malformed */

enum tftp_opcode {
    TFTP_RRQ = 1,
    TFTP_WRQ = 2,
    TFTP_DATA = 3,
    TFTP_ACK = 4,
    TFTP_ERROR = 5,
    TFTP_OACK = 6,
};

enum tftp_error_code {
    TFTP_EUNDEF = 0,    /* not defined, see the message */
    TFTP_ENOTFOUND = 1, /* file not found */
    TFTP_EACCESS = 2,   /* access violation */
    TFTP_ENOSPACE = 3,  /* disk full or allocation exceeded */
    TFTP_EBADOP = 4,    /* illegal TFTP operation */
    TFTP_EBADID = 5,    /* unknown transfer ID */
    TFTP_EEXISTS = 6,   /* file already exists */
    TFTP_ENOUSER = 7,   /* no such user */
    TFTP_EOPTNEG = 8,   /* option negotiation refused (RFC 2347) */
};

/* One option of a request or an OACK: "blksize" = "1428". */
struct tftp_option {
    const char *name;
    const char *value;
};

/* A decoded packet. Only the fields of its opcode are set. */
struct tftp_packet {
    enum tftp_opcode opcode;
    const char *filename;                /* RRQ, WRQ */
    const char *mode;                    /* RRQ, WRQ: as sent ("octet", "NETASCII") */
    struct tftp_option options[TFTP_MAX_OPTIONS]; /* RRQ, WRQ, OACK */
    size_t n_options;
    uint16_t block;                      /* DATA, ACK */
    const uint8_t *data;                 /* DATA: points into the buffer */
    size_t data_len;
    uint16_t error_code;                 /* ERROR */
    const char *error_message;           /* ERROR */
};

/*
 * Each encoder writes one packet into buf (of size bytes) and returns its
 * length, or -1 with errno = ENOSPC when it does not fit, EINVAL for an
 * argument no packet can carry (an opcode other than RRQ/WRQ for a request,
 * a NULL or empty filename or mode, more than TFTP_MAX_OPTIONS options, an
 * option with a NULL or empty name or a NULL value, a data_len over
 * TFTP_MAX_BLKSIZE): what tftp_decode would refuse is never sent. Nothing
 * is written past size. options may be NULL when n_options is 0. The
 * strings must not lie inside buf; only a DATA packet's data may.
 */
ssize_t tftp_encode_request(uint8_t *buf, size_t size, enum tftp_opcode opcode,
                            const char *filename, const char *mode,
                            const struct tftp_option *options, size_t n_options);
/* data may already sit at buf + 4: the bytes are then left where they are. */
ssize_t tftp_encode_data(uint8_t *buf, size_t size, uint16_t block, const void *data,
                         size_t data_len);
ssize_t tftp_encode_ack(uint8_t *buf, size_t size, uint16_t block);
/* message NULL: the standard text of the code (tftp_error_text). */
ssize_t tftp_encode_error(uint8_t *buf, size_t size, uint16_t code, const char *message);
ssize_t tftp_encode_oack(uint8_t *buf, size_t size, const struct tftp_option *options,
                         size_t n_options);

/*
 * Take apart the len bytes at buf. Returns 0 with *p filled in, or -1 with
 * *why (a static string) saying what is wrong: shorter than an opcode, an
 * unknown opcode, a string without its NUL, a request without mode, an
 * empty filename, mode or option name, an option without value, more than
 * TFTP_MAX_OPTIONS options, a DATA longer than TFTP_MAX_BLKSIZE, an ACK or
 * ERROR of the wrong length (an ACK is exactly 4 bytes; an ERROR ends with
 * its message's NUL). Option values may be empty, and modes are kept as
 * sent: judging them is the server's business. No byte past len is read.
 * why may be NULL. buf must stay alive and unchanged while *p is used.
 */
int tftp_decode(const uint8_t *buf, size_t len, struct tftp_packet *p, const char **why);

/* The value of option name (case-insensitive) in p, or NULL; the first if
 * p has it twice. */
const char *tftp_option_value(const struct tftp_packet *p, const char *name);

/* "File not found" for 1, and so on; "Unknown error" past 8. */
const char *tftp_error_text(uint16_t code);

/* "RRQ", "DATA", ...; "opcode?" for anything else. */
const char *tftp_opcode_name(int opcode);

#endif
