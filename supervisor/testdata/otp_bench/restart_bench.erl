#!/usr/bin/env escript
%% -*- erlang -*-
%%
%% Restart latency of an Erlang/OTP supervisor, measured the way
%% supervisor.BenchmarkRestartLatency measures this package: per iteration,
%% from sending the child the message that makes it crash to the restarted
%% child answering a call. One worker under one supervisor, for each
%% strategy. Logging is off (the Go benchmark discards its logs too).
%%
%% OTP 25's add_restart/3 walks the whole restart list on every restart
%% (lists:takewhile and length/1), so a supervisor allowing 100,000 restarts
%% per period would time the list walk, not the restart. Each supervisor
%% therefore serves Batch crashes (intensity Batch in 1 s) and is replaced,
%% untimed, by a fresh one.
%%
%% Run: escript supervisor/testdata/otp_bench/restart_bench.erl [Iterations [Batch]]
%% (default 50000 iterations, batches of 100).
-module(restart_bench).
-mode(compile).
-behaviour(supervisor). % and gen_server, for the worker (init/1 serves both)
-export([main/1, init/1, start_worker/1, handle_call/3, handle_cast/2]).

main(Args) ->
    {N, Batch} = case Args of
                     [] -> {50000, 100};
                     [A] -> {list_to_integer(A), 100};
                     [A, B | _] -> {list_to_integer(A), list_to_integer(B)}
                 end,
    logger:set_primary_config(level, none),
    process_flag(trap_exit, true),
    io:format("OTP ~s, erts ~s, ~b schedulers, ~b iterations, batches of ~b~n",
              [erlang:system_info(otp_release), erlang:system_info(version),
               erlang:system_info(schedulers_online), N, Batch]),
    [run(S, N, Batch) || S <- [one_for_one, one_for_all, rest_for_one]],
    ok.

run(Strategy, N, Batch) ->
    Ds = batches(Strategy, N, Batch, []),
    Sorted = lists:sort(Ds),
    Len = length(Sorted),
    At = fun(P) -> lists:nth(trunc(P * (Len - 1)) + 1, Sorted) / 1000 end,
    Mean = lists:sum(Sorted) / Len / 1000,
    io:format("~s: p50 ~.1f us, p99 ~.1f us, mean ~.1f us (~b restarts)~n",
              [Strategy, At(0.50), At(0.99), Mean, Len]).

batches(_Strategy, N, _Batch, Acc) when N =< 0 ->
    Acc;
batches(Strategy, N, Batch, Acc) ->
    K = min(N, Batch),
    {ok, Sup} = supervisor:start_link(?MODULE, {sup, Strategy, K, self()}),
    Pid = receive {started, P} -> P end,
    Acc1 = crashes(K, Pid, Acc),
    unlink(Sup),
    exit(Sup, shutdown),
    receive {started, _} -> ok after 0 -> ok end,
    batches(Strategy, N - K, Batch, Acc1).

crashes(0, _Pid, Acc) ->
    Acc;
crashes(K, Pid, Acc) ->
    T0 = erlang:monotonic_time(nanosecond),
    gen_server:cast(Pid, crash),
    New = receive {started, P} -> P end,
    pong = gen_server:call(New, ping),
    T1 = erlang:monotonic_time(nanosecond),
    crashes(K - 1, New, [T1 - T0 | Acc]).

%% supervisor and worker callbacks
init({sup, Strategy, Intensity, Bench}) ->
    Flags = #{strategy => Strategy, intensity => Intensity, period => 1},
    Child = #{id => w, start => {?MODULE, start_worker, [Bench]}},
    {ok, {Flags, [Child]}};
init({worker, Bench}) ->
    Bench ! {started, self()},
    {ok, nostate}.

start_worker(Bench) ->
    gen_server:start_link(?MODULE, {worker, Bench}, []).

handle_call(ping, _From, State) ->
    {reply, pong, State}.

handle_cast(crash, _State) ->
    erlang:error(crash).
