%% The BEAM side of run_cron.sh: what a user writes for "run this every
%% P ms" on one node, and the delay from each tick's scheduled instant to
%% the handler running, as bench_cron.c measures nodus's scheduler:
%%
%%   erl -sname N -noshell -run bench_cron main RECIPE PERIOD_MS N
%%
%% RECIPE:
%%   abs            the careful one: for each tick, Next = the next multiple
%%                  of P of erlang:system_time(millisecond) (the same ticks
%%                  as "@every P ms", multiples since the Unix epoch), armed
%%                  with erlang:start_timer(Next - erlang:time_offset(ms),
%%                  self(), tick, [{abs, true}]) (system time to monotonic);
%%                  the handler takes os:system_time(nanosecond) − Next·1e6.
%%   send_after     the common recipe of the stories (Process.send_after(
%%                  self(), :tick, period) re-armed in the handler):
%%                  erlang:send_after(P, self(), tick) again on each tick.
%%   send_interval  timer:send_interval(P, tick) (:timer.send_interval).
%% The two recipes start on a multiple Start of P (the abs way), and tick k
%% is measured against the ideal Start + k·P: their delay includes the
%% drift the recipe accumulates, which is what the schedule's user sees.
%% The first tick is a warm-up and not counted; then N ticks. Prints the
%% same "key value" lines as bench_cron.c (µs), and skew_us: os:system_time
%% − erlang:system_time at the end (the Erlang system time's distance to the
%% OS clock the delays are taken on). BENCH_CRON_RAW=1: every delay on
%% stderr.
-module(bench_cron).
-export([main/1]).

-define(WARMUP, 1).

main([Recipe, PStr, NStr]) ->
    P = list_to_integer(PStr),
    N = list_to_integer(NStr),
    Ds = run(list_to_atom(Recipe), P, ?WARMUP + N),
    Counted = lists:nthtail(?WARMUP, Ds),
    case os:getenv("BENCH_CRON_RAW") of
        V when V =:= false; V =:= ""; V =:= "0" -> ok;
        _ -> [io:format(standard_error, "delay_us ~.3f~n", [D / 1000]) || D <- Counted]
    end,
    report(Counted),
    Skew = os:system_time(microsecond) - erlang:system_time(microsecond),
    io:format("skew_us ~p~n", [Skew]),
    halt(0).

%% The next multiple of P after now, in system time ms.
next_multiple(P) -> (erlang:system_time(millisecond) div P + 1) * P.

%% Waits until system time ms Next (an absolute timer on monotonic time).
arm_abs(Next) ->
    erlang:start_timer(Next - erlang:time_offset(millisecond), self(), tick, [{abs, true}]).

run(abs, P, Total) -> abs_loop(P, Total, []);
run(send_after, P, Total) ->
    Start = start_on_multiple(P),
    erlang:send_after(P, self(), tick),
    rearm_loop(P, Start, 1, Total, []);
run(send_interval, P, Total) ->
    Start = start_on_multiple(P),
    {ok, TRef} = timer:send_interval(P, tick),
    Ds = interval_loop(Start, P, 1, Total, []),
    timer:cancel(TRef),
    Ds.

abs_loop(_P, 0, Acc) -> lists:reverse(Acc);
abs_loop(P, Left, Acc) ->
    Next = next_multiple(P),
    Ref = arm_abs(Next),
    receive
        {timeout, Ref, tick} ->
            D = os:system_time(nanosecond) - Next * 1000000,
            abs_loop(P, Left - 1, [D | Acc])
    after 10 * P + 5000 -> exit(no_tick)
    end.

%% The recipes' tick 0: the first multiple of P, armed the abs way.
start_on_multiple(P) ->
    Start = next_multiple(P),
    Ref = arm_abs(Start),
    receive {timeout, Ref, tick} -> Start after 10 * P + 5000 -> exit(no_tick) end.

rearm_loop(_P, _Start, K, Total, Acc) when K > Total -> lists:reverse(Acc);
rearm_loop(P, Start, K, Total, Acc) ->
    receive
        tick ->
            D = os:system_time(nanosecond) - (Start + K * P) * 1000000,
            erlang:send_after(P, self(), tick),
            rearm_loop(P, Start, K + 1, Total, [D | Acc])
    after 10 * P + 5000 -> exit(no_tick)
    end.

interval_loop(_Start, _P, K, Total, Acc) when K > Total -> lists:reverse(Acc);
interval_loop(Start, P, K, Total, Acc) ->
    receive
        tick ->
            D = os:system_time(nanosecond) - (Start + K * P) * 1000000,
            interval_loop(Start, P, K + 1, Total, [D | Acc])
    after 10 * P + 5000 -> exit(no_tick)
    end.

%% Nearest rank, as bench_cron.c.
pct(Sorted, N, Pc) ->
    K = min(N, max(1, ceil(Pc * N - 1.0e-9))),
    lists:nth(K, Sorted).

report(Ds) ->
    S = lists:sort(Ds),
    N = length(S),
    F = fun(Key, Ns) -> io:format("~s ~.1f~n", [Key, Ns / 1000]) end,
    F("p50_us", pct(S, N, 0.50)),
    F("p99_us", pct(S, N, 0.99)),
    F("max_us", lists:last(S)),
    F("min_us", hd(S)),
    F("mean_us", lists:sum(S) / N),
    io:format("count ~p~nmissed 0~n", [N]).
