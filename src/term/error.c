#include "nodus/error.h"

const char *nodus_strerror(int err) {
  switch (err) {
    case 0: return "success";
#define NODUS_ERRNO_MSG(name, val, msg) case val: return msg;
    NODUS_ERRNO_MAP(NODUS_ERRNO_MSG)
#undef NODUS_ERRNO_MSG
  }
  return "unknown error";
}

const char *nodus_err_name(int err) {
  switch (err) {
    case 0: return "NODUS_OK";
#define NODUS_ERRNO_NAME(name, val, msg) case val: return "NODUS_" #name;
    NODUS_ERRNO_MAP(NODUS_ERRNO_NAME)
#undef NODUS_ERRNO_NAME
  }
  return "NODUS_EUNKNOWN";
}
