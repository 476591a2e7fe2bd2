package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	pcluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/etcd"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// etcdTimeouts bound what the etcd provider waits for.
type etcdTimeouts struct {
	request time.Duration // each etcd call: grant, put, get, revoke
	lease   time.Duration // the member's lease TTL (whole seconds, at least 1 s)
	retry   time.Duration // between attempts to register or list again
}

// defaultEtcdTimeouts: a member that cannot reach etcd gives up joining
// after 3 s (and retries, see Fleet) and leaves within 3 s; the others drop
// a member that died 3 s after its last keep-alive, as with protoactor's
// provider.
var defaultEtcdTimeouts = etcdTimeouts{request: 3 * time.Second, lease: 3 * time.Second, retry: time.Second}

// etcdProvider is a protoactor cluster provider over etcd. It writes what
// protoactor's etcd provider writes (the member's etcd.Node as JSON under
// <prefix>/<cluster>/<cluster>@<system id>, attached to a lease it keeps
// alive) and watches the prefix the same way, so the two interoperate. It
// exists because protoactor's provider calls etcd with context.TODO(): with
// etcd unreachable its join, its leave and its keep-alive loop block for
// ever, and it never closes its etcd client, so every rejoin would leak a
// client that keeps redialing (and keeps its old lease alive).
//
// Every etcd call here is bounded by the request timeout; the member's own
// goroutine (run) keeps the lease, registers again when the lease is lost,
// and lists and watches the members; Shutdown stops it, revokes the lease
// (which deletes the key) and closes the client. StartMember and Shutdown
// are called one after the other by the member's lifecycle, never at once.
type etcdProvider struct {
	cfg    clientv3.Config
	prefix string
	t      etcdTimeouts

	// Set by StartMember; after it, owned by run until done is closed.
	cli    *clientv3.Client
	c      *pcluster.Cluster
	log    *slog.Logger
	key    string // this member's key
	value  string
	self   *pcluster.Member
	lease  clientv3.LeaseID // 0 while not registered
	cancel context.CancelFunc
	done   chan struct{}
}

func newEtcdProvider(prefix string, endpoints []string, t etcdTimeouts) *etcdProvider {
	return &etcdProvider{prefix: prefix, t: t, cfg: clientv3.Config{
		Endpoints: endpoints,
		// Without grpc.WithBlock the client connects in the background;
		// DialTimeout bounds only that first dial.
		DialTimeout: t.request,
		// gRPC keep-alive pings find a connection that died silently, so
		// the watch moves to a new one; 10 s is gRPC's minimum interval.
		DialKeepAliveTime:    10 * time.Second,
		DialKeepAliveTimeout: t.request,
		Logger:               zap.NewNop(), // our own logs say what failed
	}}
}

// StartMember registers this member and publishes the members listed in
// etcd. It fails, within a few request timeouts, when etcd is unreachable,
// and then leaves nothing running.
func (p *etcdProvider) StartMember(c *pcluster.Cluster) (err error) {
	host, port, err := c.ActorSystem.GetHostPort()
	if err != nil {
		return err
	}
	name := c.Config.Name + "@" + c.ActorSystem.ID
	node := etcd.NewNode(name, host, port, c.GetClusterKinds())
	value, err := node.Serialize()
	if err != nil {
		return err
	}
	cli, err := clientv3.New(p.cfg)
	if err != nil {
		return fmt.Errorf("etcd provider: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cli, p.c, p.log, p.cancel = cli, c, c.Logger(), cancel
	p.key, p.value, p.self = p.prefix+"/"+c.Config.Name+"/"+name, string(value), node.MemberStatus()
	defer func() {
		if err != nil {
			p.revoke()
			cancel()
			_ = cli.Close()
			p.cli = nil
		}
	}()
	ka, err := p.register(ctx)
	if err != nil {
		return err
	}
	members, rev, err := p.list(ctx)
	if err != nil {
		return err
	}
	p.publish(members)
	p.done = make(chan struct{})
	go p.run(ctx, ka, members, rev)
	return nil
}

// StartClient is refused: tinkex runs cluster members only.
func (p *etcdProvider) StartClient(*pcluster.Cluster) error {
	return fmt.Errorf("tinkex runs cluster members only")
}

// Shutdown stops the member's goroutine, revokes its lease (deleting its
// key, so the others drop it at once) within the request timeout, and
// closes the client. It is a no-op when StartMember failed or Shutdown ran.
func (p *etcdProvider) Shutdown(bool) error {
	if p.cli == nil {
		return nil
	}
	p.cancel()
	<-p.done
	err := p.revoke()
	if cerr := p.cli.Close(); cerr != nil && !errors.Is(cerr, context.Canceled) {
		err = errors.Join(err, cerr)
	}
	p.cli = nil
	return err
}

// call runs one etcd call with the request timeout.
func (p *etcdProvider) call(ctx context.Context, f func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, p.t.request)
	defer cancel()
	return f(ctx)
}

// register puts this member's key under a new lease and keeps the lease
// alive; the returned channel closes when the lease is lost. A lease
// granted by an attempt that fails later is left to expire (its TTL).
func (p *etcdProvider) register(ctx context.Context) (<-chan *clientv3.LeaseKeepAliveResponse, error) {
	ttl := max(int64(p.t.lease/time.Second), 1)
	var lease clientv3.LeaseID
	err := p.call(ctx, func(ctx context.Context) error {
		r, err := p.cli.Grant(ctx, ttl)
		if err == nil {
			lease = r.ID
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("etcd provider: granting a lease: %w", err)
	}
	err = p.call(ctx, func(ctx context.Context) error {
		_, err := p.cli.Put(ctx, p.key, p.value, clientv3.WithLease(lease))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("etcd provider: registering %s: %w", p.key, err)
	}
	ka, err := p.cli.KeepAlive(ctx, lease)
	if err != nil {
		return nil, fmt.Errorf("etcd provider: keeping the lease alive: %w", err)
	}
	p.lease = lease
	return ka, nil
}

// revoke revokes the lease, if any, within the request timeout.
func (p *etcdProvider) revoke() error {
	if p.lease == 0 {
		return nil
	}
	err := p.call(context.Background(), func(ctx context.Context) error {
		_, err := p.cli.Revoke(ctx, p.lease)
		return err
	})
	p.lease = 0
	if err != nil {
		return fmt.Errorf("etcd provider: revoking the lease of %s: %w", p.key, err)
	}
	return nil
}

// list returns the members registered under the cluster's prefix, by key,
// and the revision to watch from.
func (p *etcdProvider) list(ctx context.Context) (map[string]*pcluster.Member, int64, error) {
	var resp *clientv3.GetResponse
	err := p.call(ctx, func(ctx context.Context) error {
		var err error
		resp, err = p.cli.Get(ctx, p.clusterPrefix(), clientv3.WithPrefix())
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("etcd provider: listing the members: %w", err)
	}
	members := map[string]*pcluster.Member{}
	for _, kv := range resp.Kvs {
		if m := p.member(kv.Key, kv.Value); m != nil {
			members[string(kv.Key)] = m
		}
	}
	return members, resp.Header.Revision, nil
}

func (p *etcdProvider) clusterPrefix() string { return p.prefix + "/" + p.c.Config.Name + "/" }

func (p *etcdProvider) member(key, value []byte) *pcluster.Member {
	n, err := etcd.NewNodeFromBytes(value)
	if err != nil || !n.IsAlive() {
		p.log.Warn("etcd provider: skipping an unreadable member", slog.String("key", string(key)))
		return nil
	}
	return n.MemberStatus()
}

// publish hands the members, always with this one, to protoactor.
func (p *etcdProvider) publish(members map[string]*pcluster.Member) {
	list := make(pcluster.Members, 0, len(members)+1)
	list = append(list, p.self)
	for k, m := range members {
		if k != p.key {
			list = append(list, m)
		}
	}
	p.c.MemberList.UpdateClusterTopology(list)
}

// run keeps the lease and the member list until ctx ends: when the lease
// is lost (etcd unreachable for its TTL, or restarted without its data) it
// registers, lists and watches again, and when the watch fails (etcd
// compacted past it, or lost its leader) it lists and watches again, every
// retry interval until that works.
func (p *etcdProvider) run(ctx context.Context, ka <-chan *clientv3.LeaseKeepAliveResponse, members map[string]*pcluster.Member, rev int64) {
	defer close(p.done)
	stopWatch := func() {}
	defer func() { stopWatch() }()
	watch := func(rev int64) clientv3.WatchChan {
		wctx, cancel := context.WithCancel(ctx)
		stopWatch = cancel
		return p.cli.Watch(clientv3.WithRequireLeader(wctx), p.clusterPrefix(), clientv3.WithPrefix(), clientv3.WithRev(rev+1))
	}
	wch := watch(rev)
	var retry <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-ka:
			if !ok && ctx.Err() == nil {
				p.log.Warn("etcd provider: lost the member's lease; registering again", slog.String("key", p.key))
				ka, p.lease = nil, 0
				// An etcd that lost its data (the lease with it) starts its
				// revisions afresh: the watch, resumed from the old
				// revision, would miss every change until the new
				// revisions caught up. List and watch again too.
				stopWatch()
				wch = nil
				retry = time.After(0)
			}
		case resp, ok := <-wch:
			if err := resp.Err(); !ok || err != nil || resp.Canceled {
				if ctx.Err() != nil {
					return
				}
				p.log.Warn("etcd provider: the watch ended; listing again", slog.Any("error", err))
				stopWatch()
				wch = nil
				retry = time.After(0)
				continue
			}
			for _, ev := range resp.Events {
				k := string(ev.Kv.Key)
				if ev.Type == clientv3.EventTypeDelete {
					delete(members, k)
				} else if m := p.member(ev.Kv.Key, ev.Kv.Value); m != nil {
					members[k] = m
				}
			}
			p.publish(members)
		case <-retry:
			retry = nil
			if ka == nil {
				var err error
				if ka, err = p.register(ctx); err != nil {
					p.log.Warn("etcd provider: registering again failed", slog.Any("error", err))
				}
			}
			if wch == nil {
				if m, r, err := p.list(ctx); err != nil {
					p.log.Warn("etcd provider: listing again failed", slog.Any("error", err))
				} else {
					members = m
					p.publish(members)
					wch = watch(r)
				}
			}
			if ka == nil || wch == nil {
				retry = time.After(p.t.retry)
			}
		}
	}
}
