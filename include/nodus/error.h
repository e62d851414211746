/* nodus — error codes shared by every layer.
 *
 * Public calls return 0 on success or one of these negative codes;
 * nodus_strerror() names it. */
#ifndef NODUS_ERROR_H
#define NODUS_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

#define NODUS_ERRNO_MAP(X)                                                   \
  X(ENOMEM, -1, "out of memory")                                             \
  X(EINVAL, -2, "invalid argument")                                          \
  X(EBADETF, -3, "malformed external term format")                           \
  X(ETRUNC, -4, "input truncated")                                           \
  X(ETOODEEP, -5, "term nested too deeply")                                  \
  X(ETOOBIG, -6, "term too large")                                           \
  X(EATOMTABLE, -7, "atom table full")                                       \
  X(EATOMLIMIT, -8, "too many new atoms in one term")                        \
  X(EBADATOM, -9, "invalid atom (bad UTF-8 or longer than 255 characters)")  \
  X(ESYNTAX, -10, "syntax error")                                            \
  X(ENOMATCH, -11, "term does not match")                                    \
  X(EUNSUPPORTED, -12, "unsupported encoding")                               \
  X(EZLIB, -13, "compressed term is corrupt")                                \
  X(ERANGE, -14, "value out of range")                                       \
  X(EBADTYPE, -15, "term has the wrong type")                                \
  X(EDUPKEY, -16, "duplicate map key")                                       \
  X(EIO, -17, "i/o error")                                                  \
  X(ENOCONN, -18, "node not connected or unreachable")                      \
  X(ETIMEDOUT, -19, "timed out")                                            \
  X(ENOPROC, -20, "no such process")                                        \
  X(EEXIST, -21, "already exists")                                          \
  X(EBADNAME, -22, "invalid node name")                                     \
  X(ESTATE, -23, "not allowed in this state")                               \
  X(ECOOKIE, -24, "no cookie (give one or create ~/.erlang.cookie)")        \
  X(ENET, -25, "network error")                                            \
  X(EPROTO, -26, "peer broke the protocol")                                \
  X(ENOTFOUND, -27, "name not registered")                                 \
  X(EEXIT, -28, "the other side exited or raised (see the returned reason)") \
  X(EAUTH, -29, "cookie rejected: the node answered but its cookie differs") \
  X(EBUSY, -30, "held by another (a cluster-wide lock)")

typedef enum nodus_errno {
#define NODUS_ERRNO_ENUM(name, val, msg) NODUS_##name = (val),
  NODUS_ERRNO_MAP(NODUS_ERRNO_ENUM)
#undef NODUS_ERRNO_ENUM
} nodus_errno;

/* A static string describing err (0 or a NODUS_E* code). Never NULL. */
const char *nodus_strerror(int err);
/* The code's symbolic name, e.g. "NODUS_ETRUNC". Never NULL. */
const char *nodus_err_name(int err);

#ifdef __cplusplus
}
#endif
#endif
