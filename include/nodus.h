/* nodus — Erlang/OTP distribution for C. Include this one header. */
#ifndef NODUS_H
#define NODUS_H

#include "nodus/cron.h"
#include "nodus/discovery.h"
#include "nodus/dsup.h"
#include "nodus/error.h"
#include "nodus/global.h"
#include "nodus/node.h"
#include "nodus/otp.h"
#include "nodus/pg.h"
#include "nodus/pubsub.h"
#include "nodus/service.h"
#include "nodus/supervisor.h"
#include "nodus/task.h"
#include "nodus/term.h"
#include "nodus/version.h" /* generated from project(VERSION) by CMake */

#endif
