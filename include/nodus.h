/* nodus — Erlang/OTP distribution for C. Include this one header. */
#ifndef NODUS_H
#define NODUS_H

#include "nodus/error.h"
#include "nodus/node.h"
#include "nodus/otp.h"
#include "nodus/pg.h"
#include "nodus/pubsub.h"
#include "nodus/service.h"
#include "nodus/supervisor.h"
#include "nodus/task.h"
#include "nodus/term.h"

#define NODUS_VERSION_MAJOR 0
#define NODUS_VERSION_MINOR 1
#define NODUS_VERSION_PATCH 0
#define NODUS_VERSION_STRING "0.1.0"

#endif
