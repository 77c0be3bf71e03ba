/*
 * tftp.c - build TFTP packets and take them apart; see tftp.h.
 *
 * Usage: linked into tftpd, tftpget and the Check tests.
 *
 * Wire format: RFC 1350, with the options of RFC 2347 (RFC 2348 and 2349
 * define blksize, timeout and tsize; to the codec they are plain strings).
 *
 * See also tftp.h, xfer.c.
 */
#include "tftp.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

static void put16(uint8_t *at, uint16_t v)
{
    at[0] = (uint8_t)(v >> 8);
    at[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *at)
{
    return (uint16_t)(at[0] << 8 | at[1]);
}

static ssize_t fail(int err)
{
    errno = err;
    return -1;
}

/*
 * Encoders measure the whole packet before writing a byte, so a packet that
 * does not fit leaves buf as it was. *total never exceeds size, hence
 * size - *total cannot wrap, whatever the length of s.
 */
static int add_string(size_t *total, const char *s, size_t size)
{
    size_t n = strlen(s) + 1;
    if (n > size - *total)
        return 0;
    *total += n;
    return 1;
}

static size_t put_string(uint8_t *at, const char *s)
{
    size_t n = strlen(s) + 1;
    memcpy(at, s, n);
    return n;
}

/* Only what tftp_decode takes back: a peer must never see a packet of ours
 * as malformed. An empty value is allowed; the receiver judges values. */
static int valid_options(const struct tftp_option *options, size_t n_options)
{
    if (n_options > TFTP_MAX_OPTIONS || (n_options > 0 && options == NULL))
        return 0;
    for (size_t i = 0; i < n_options; i++)
        if (options[i].name == NULL || options[i].name[0] == '\0' || options[i].value == NULL)
            return 0;
    return 1;
}

static int add_options(size_t *total, const struct tftp_option *options, size_t n_options,
                       size_t size)
{
    for (size_t i = 0; i < n_options; i++)
        if (!add_string(total, options[i].name, size) || !add_string(total, options[i].value, size))
            return 0;
    return 1;
}

static size_t put_options(uint8_t *at, const struct tftp_option *options, size_t n_options)
{
    size_t n = 0;
    for (size_t i = 0; i < n_options; i++) {
        n += put_string(at + n, options[i].name);
        n += put_string(at + n, options[i].value);
    }
    return n;
}

ssize_t tftp_encode_request(uint8_t *buf, size_t size, enum tftp_opcode opcode,
                            const char *filename, const char *mode,
                            const struct tftp_option *options, size_t n_options)
{
    if ((opcode != TFTP_RRQ && opcode != TFTP_WRQ) || filename == NULL || filename[0] == '\0' ||
        mode == NULL || mode[0] == '\0' || !valid_options(options, n_options))
        return fail(EINVAL);
    size_t total = 2;
    if (size < total || !add_string(&total, filename, size) || !add_string(&total, mode, size) ||
        !add_options(&total, options, n_options, size))
        return fail(ENOSPC);
    put16(buf, (uint16_t)opcode);
    size_t at = 2;
    at += put_string(buf + at, filename);
    at += put_string(buf + at, mode);
    put_options(buf + at, options, n_options);
    return (ssize_t)total;
}

ssize_t tftp_encode_data(uint8_t *buf, size_t size, uint16_t block, const void *data,
                         size_t data_len)
{
    if (data_len > TFTP_MAX_BLKSIZE || (data == NULL && data_len > 0))
        return fail(EINVAL);
    if (size < 4 || data_len > size - 4)
        return fail(ENOSPC);
    /* The data first: wherever it sits, even over the header, it is moved
     * before the header can overwrite it. At buf + 4 it already is in place. */
    if (data_len > 0 && data != buf + 4)
        memmove(buf + 4, data, data_len);
    put16(buf, TFTP_DATA);
    put16(buf + 2, block);
    return (ssize_t)(4 + data_len);
}

ssize_t tftp_encode_ack(uint8_t *buf, size_t size, uint16_t block)
{
    if (size < 4)
        return fail(ENOSPC);
    put16(buf, TFTP_ACK);
    put16(buf + 2, block);
    return 4;
}

ssize_t tftp_encode_error(uint8_t *buf, size_t size, uint16_t code, const char *message)
{
    if (message == NULL)
        message = tftp_error_text(code);
    size_t total = 4;
    if (size < total || !add_string(&total, message, size))
        return fail(ENOSPC);
    put16(buf, TFTP_ERROR);
    put16(buf + 2, code);
    put_string(buf + 4, message);
    return (ssize_t)total;
}

ssize_t tftp_encode_oack(uint8_t *buf, size_t size, const struct tftp_option *options,
                         size_t n_options)
{
    if (!valid_options(options, n_options))
        return fail(EINVAL);
    size_t total = 2;
    if (size < total || !add_options(&total, options, n_options, size))
        return fail(ENOSPC);
    put16(buf, TFTP_OACK);
    put_options(buf + 2, options, n_options);
    return (ssize_t)total;
}

/*
 * The string starting at *at, which then moves past its NUL; NULL when the
 * datagram ends first. memchr bounded by len is what keeps every read of
 * the decoder inside the datagram: a peer's string need not end at all.
 */
static const char *take_string(const uint8_t *buf, size_t len, size_t *at)
{
    const uint8_t *nul = memchr(buf + *at, '\0', len - *at);
    if (nul == NULL)
        return NULL;
    const char *s = (const char *)(buf + *at);
    *at = (size_t)(nul - buf) + 1;
    return s;
}

static const char *take_options(const uint8_t *buf, size_t len, size_t at, struct tftp_packet *p)
{
    while (at < len) {
        if (p->n_options == TFTP_MAX_OPTIONS)
            return "too many options"; /* bounded: the options live in *p, not on a heap */
        struct tftp_option *o = &p->options[p->n_options];
        o->name = take_string(buf, len, &at);
        if (o->name == NULL)
            return "option name without its NUL";
        if (o->name[0] == '\0')
            return "empty option name";
        if (at == len)
            return "option without value";
        o->value = take_string(buf, len, &at);
        if (o->value == NULL)
            return "option value without its NUL";
        p->n_options++;
    }
    return NULL;
}

static const char *take_request(const uint8_t *buf, size_t len, struct tftp_packet *p)
{
    size_t at = 2;
    if (at == len)
        return "request without filename";
    p->filename = take_string(buf, len, &at);
    if (p->filename == NULL)
        return "filename without its NUL";
    if (p->filename[0] == '\0')
        return "empty filename";
    if (at == len)
        return "request without mode";
    p->mode = take_string(buf, len, &at);
    if (p->mode == NULL)
        return "mode without its NUL";
    if (p->mode[0] == '\0')
        return "empty mode";
    return take_options(buf, len, at, p);
}

static const char *take_data(const uint8_t *buf, size_t len, struct tftp_packet *p)
{
    if (len < 4)
        return "DATA without block number";
    if (len - 4 > TFTP_MAX_BLKSIZE)
        return "DATA longer than the largest blksize";
    p->block = get16(buf + 2);
    p->data = buf + 4;
    p->data_len = len - 4;
    return NULL;
}

static const char *take_ack(const uint8_t *buf, size_t len, struct tftp_packet *p)
{
    /* Longer is refused too: RFC 1350 puts nothing after the block, so a
     * peer sending more speaks something other than TFTP. */
    if (len != 4)
        return "ACK not 4 bytes long";
    p->block = get16(buf + 2);
    return NULL;
}

static const char *take_error(const uint8_t *buf, size_t len, struct tftp_packet *p)
{
    if (len < 4)
        return "ERROR without error code";
    p->error_code = get16(buf + 2);
    size_t at = 4;
    p->error_message = take_string(buf, len, &at);
    if (p->error_message == NULL)
        return "error message without its NUL";
    if (at != len)
        return "bytes after the error message";
    return NULL;
}

static const char *take_packet(const uint8_t *buf, size_t len, struct tftp_packet *p)
{
    if (len < 2)
        return "no opcode";
    uint16_t opcode = get16(buf);
    if (opcode < TFTP_RRQ || opcode > TFTP_OACK)
        return "unknown opcode";
    /* Fields of other opcodes read as empty rather than as stale values. */
    *p = (struct tftp_packet){.opcode = (enum tftp_opcode)opcode};
    switch (p->opcode) {
    case TFTP_RRQ:
    case TFTP_WRQ:
        return take_request(buf, len, p);
    case TFTP_DATA:
        return take_data(buf, len, p);
    case TFTP_ACK:
        return take_ack(buf, len, p);
    case TFTP_ERROR:
        return take_error(buf, len, p);
    case TFTP_OACK:
        return take_options(buf, len, 2, p);
    }
    return "unknown opcode";
}

int tftp_decode(const uint8_t *buf, size_t len, struct tftp_packet *p, const char **why)
{
    const char *bad = take_packet(buf, len, p);
    if (bad == NULL)
        return 0;
    if (why != NULL)
        *why = bad;
    return -1;
}

const char *tftp_option_value(const struct tftp_packet *p, const char *name)
{
    size_t n = p->n_options < TFTP_MAX_OPTIONS ? p->n_options : TFTP_MAX_OPTIONS;
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(p->options[i].name, name) == 0)
            return p->options[i].value; /* RFC 2347: option names are case-insensitive */
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
