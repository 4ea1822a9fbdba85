//! The subscribers of one replica, indexed by what they may receive, and the per-event
//! authorization that decides each delivery.
//!
//! A subscriber is indexed under the keys its access grants (every project of the
//! organizations it administers, the projects it is a member of, or everything for a
//! portal admin), so an event touches only the subscribers of its project and
//! organization. Each candidate is then checked against its current scope before the
//! frame goes into its bounded mailbox. A frame that finds the mailbox full waits in a
//! small per-subscriber overflow while the hub gives the reader a bounded time to make
//! room ([`Registry::flush_overflow`]); a subscriber still full after that is
//! disconnected alone and resumes from its last id.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use paasportal_core::{EventKind, ViewScope};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::frame::Frame;

/// Identifies one subscription within a replica.
pub type SubId = u64;

/// What a subscriber wants and may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub user_id: Uuid,
    /// Which projects' events the subscriber may receive, from its access as it is now.
    pub scope: ViewScope,
    /// Only this deployment's log lines (the per-deployment log stream).
    pub deployment: Option<Uuid>,
}

impl Filter {
    /// Whether `frame` may be delivered to this subscriber.
    pub fn admits(&self, frame: &Frame) -> bool {
        if frame.kind == EventKind::PermissionsChanged {
            return frame.user_id == Some(self.user_id);
        }
        if let Some(d) = self.deployment
            && (frame.kind != EventKind::DeploymentProgress || frame.deployment_id != Some(d))
        {
            return false;
        }
        match (&self.scope, frame.organization_id, frame.project_id) {
            (ViewScope::All, _, _) => true,
            (scope, Some(org), Some(project)) => scope.allows(org, project),
            (ViewScope::Some { orgs, .. }, Some(org), None) => orgs.contains(&org),
            _ => false,
        }
    }

    fn keys(&self) -> Vec<Key> {
        let mut keys = vec![Key::User(self.user_id)];
        if let Some(d) = self.deployment {
            keys.push(Key::Deployment(d));
            return keys;
        }
        match &self.scope {
            ViewScope::All => keys.push(Key::All),
            ViewScope::Some { orgs, projects } => {
                keys.extend(orgs.iter().map(|o| Key::Org(*o)));
                keys.extend(projects.iter().map(|p| Key::Project(*p)));
            }
        }
        keys
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    All,
    Org(Uuid),
    Project(Uuid),
    Deployment(Uuid),
    User(Uuid),
}

/// What a subscriber's mailbox carries.
pub type Mailbox = mpsc::Receiver<Arc<Frame>>;

struct Sub {
    filter: Filter,
    keys: Vec<Key>,
    tx: mpsc::Sender<Arc<Frame>>,
    /// The last sequence number put in the mailbox (an event reaches it once even when
    /// several of its keys match).
    last: i64,
}

/// Counters of deliveries.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub frames: u64,
    pub dropped_slow: u64,
}

/// Every subscription of the replica.
#[derive(Default)]
pub struct Registry {
    next: SubId,
    subs: HashMap<SubId, Sub>,
    index: HashMap<Key, HashSet<SubId>>,
    /// The sequence number of the last `permissions_changed` seen per user.
    permissions_changed: HashMap<Uuid, i64>,
    /// Frames that found their subscriber's mailbox full, in order, until it makes room.
    overflow: HashMap<SubId, Vec<Arc<Frame>>>,
    pub delivered: Delivered,
}

impl Registry {
    /// Adds a subscriber with a mailbox of `capacity` frames; returns its id and mailbox.
    pub fn add(&mut self, filter: Filter, capacity: usize, head: i64) -> (SubId, Mailbox) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        self.next += 1;
        let id = self.next;
        let keys = filter.keys();
        for k in &keys {
            self.index.entry(*k).or_default().insert(id);
        }
        self.subs.insert(
            id,
            Sub {
                filter,
                keys,
                tx,
                last: head,
            },
        );
        (id, rx)
    }

    /// Removes a subscriber; its mailbox then ends once drained.
    pub fn remove(&mut self, id: SubId) {
        self.overflow.remove(&id);
        let Some(sub) = self.subs.remove(&id) else {
            return;
        };
        for k in sub.keys {
            if let Some(set) = self.index.get_mut(&k) {
                set.remove(&id);
                if set.is_empty() {
                    self.index.remove(&k);
                }
            }
        }
    }

    /// Replaces a subscriber's scope (its access changed) and re-indexes it.
    pub fn set_scope(&mut self, id: SubId, scope: ViewScope) {
        let Some(sub) = self.subs.get(&id) else {
            return;
        };
        let mut filter = sub.filter.clone();
        filter.scope = scope;
        let (tx, last) = (sub.tx.clone(), sub.last);
        let overflow = self.overflow.remove(&id);
        self.remove(id);
        if let Some(o) = overflow {
            self.overflow.insert(id, o);
        }
        let keys = filter.keys();
        for k in &keys {
            self.index.entry(*k).or_default().insert(id);
        }
        self.subs.insert(
            id,
            Sub {
                filter,
                keys,
                tx,
                last,
            },
        );
    }

    /// The subscriptions of `user`.
    pub fn of_user(&self, user: Uuid) -> Vec<SubId> {
        self.index
            .get(&Key::User(user))
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    /// The sequence number of the last `permissions_changed` for `user` this replica saw.
    pub fn last_permissions_change(&self, user: Uuid) -> Option<i64> {
        self.permissions_changed.get(&user).copied()
    }

    /// How many subscriptions there are.
    pub fn len(&self) -> usize {
        self.subs.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.subs.is_empty()
    }

    /// Puts `frame` into the mailbox of every subscriber that may receive it; nobody waits.
    /// Where the mailbox is full the frame goes to that subscriber's overflow instead
    /// (see [`Registry::stuck`] and [`Registry::flush_overflow`]).
    pub fn dispatch(&mut self, frame: &Arc<Frame>) {
        if frame.kind == EventKind::PermissionsChanged
            && let Some(u) = frame.user_id
        {
            self.permissions_changed.insert(u, frame.seq);
        }
        let mut keys: [Option<Key>; 4] = [None; 4];
        if frame.kind == EventKind::PermissionsChanged {
            keys[0] = frame.user_id.map(Key::User);
        } else {
            keys[0] = Some(Key::All);
            keys[1] = frame.organization_id.map(Key::Org);
            keys[2] = frame.project_id.map(Key::Project);
            keys[3] = frame.deployment_id.map(Key::Deployment);
        }
        let mut closed: Vec<SubId> = Vec::new();
        for key in keys.iter().flatten() {
            let Some(ids) = self.index.get(key) else {
                continue;
            };
            for id in ids {
                let Some(sub) = self.subs.get_mut(id) else {
                    continue;
                };
                if sub.last >= frame.seq || !sub.filter.admits(frame) {
                    continue;
                }
                sub.last = frame.seq;
                if let Some(waiting) = self.overflow.get_mut(id) {
                    waiting.push(frame.clone());
                    continue;
                }
                match sub.tx.try_send(frame.clone()) {
                    Ok(()) => self.delivered.frames += 1,
                    Err(mpsc::error::TrySendError::Full(f)) => {
                        self.overflow.insert(*id, vec![f]);
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => closed.push(*id),
                }
            }
        }
        for id in closed {
            self.remove(id);
        }
    }

    /// The subscribers with frames in overflow: their mailbox and how many frames wait.
    pub fn stuck(&self) -> Vec<(mpsc::Sender<Arc<Frame>>, usize)> {
        self.overflow
            .iter()
            .filter_map(|(id, waiting)| self.subs.get(id).map(|s| (s.tx.clone(), waiting.len())))
            .collect()
    }

    /// Moves overflowed frames into their mailboxes; a subscriber whose mailbox is still
    /// full is disconnected (it resumes from its last id).
    pub fn flush_overflow(&mut self) {
        let mut slow = Vec::new();
        for (id, waiting) in std::mem::take(&mut self.overflow) {
            let Some(sub) = self.subs.get(&id) else {
                continue;
            };
            for f in waiting {
                match sub.tx.try_send(f) {
                    Ok(()) => self.delivered.frames += 1,
                    Err(e) => {
                        if matches!(e, mpsc::error::TrySendError::Full(_)) {
                            self.delivered.dropped_slow += 1;
                            tracing::info!(
                                subscription = id,
                                "slow subscriber disconnected: its buffer is full"
                            );
                        }
                        slow.push(id);
                        break;
                    }
                }
            }
        }
        for id in slow {
            self.remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn frame(seq: i64, org: Uuid, project: Uuid, deployment: Uuid) -> Arc<Frame> {
        Arc::new(Frame {
            seq,
            kind: EventKind::DeploymentProgress,
            organization_id: Some(org),
            project_id: Some(project),
            deployment_id: Some(deployment),
            user_id: None,
            ends_deployment: false,
            bytes: Bytes::from_static(b"x"),
        })
    }

    fn scope(orgs: &[Uuid], projects: &[Uuid]) -> ViewScope {
        ViewScope::Some {
            orgs: orgs.iter().copied().collect(),
            projects: projects.iter().copied().collect(),
        }
    }

    #[test]
    fn events_reach_only_who_may_see_them_once_each() {
        let (org, p, q, d) = (
            Uuid::new_v4(),
            Uuid::new_v4(),
            Uuid::new_v4(),
            Uuid::new_v4(),
        );
        let mut r = Registry::default();
        let user = Uuid::new_v4();
        let (_, mut both) = r.add(
            Filter {
                user_id: user,
                scope: scope(&[org], &[p]),
                deployment: None,
            },
            8,
            0,
        );
        let (_, mut only_q) = r.add(
            Filter {
                user_id: Uuid::new_v4(),
                scope: scope(&[], &[q]),
                deployment: None,
            },
            8,
            0,
        );
        let (_, mut one_dep) = r.add(
            Filter {
                user_id: Uuid::new_v4(),
                scope: scope(&[], &[p]),
                deployment: Some(d),
            },
            8,
            0,
        );
        r.dispatch(&frame(1, org, p, d));
        r.dispatch(&frame(2, org, p, Uuid::new_v4()));
        assert_eq!(both.try_recv().unwrap().seq, 1);
        assert_eq!(both.try_recv().unwrap().seq, 2);
        assert!(
            both.try_recv().is_err(),
            "delivered once although two keys match"
        );
        assert!(only_q.try_recv().is_err());
        assert_eq!(one_dep.try_recv().unwrap().seq, 1);
        assert!(one_dep.try_recv().is_err());
    }

    #[test]
    fn a_full_mailbox_disconnects_only_its_subscriber() {
        let (org, p, d) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let mut r = Registry::default();
        let f = Filter {
            user_id: Uuid::new_v4(),
            scope: scope(&[org], &[]),
            deployment: None,
        };
        let (_, mut slow) = r.add(f.clone(), 2, 0);
        let (_, mut fast) = r.add(f, 2, 0);
        for seq in 1..=3 {
            r.dispatch(&frame(seq, org, p, d));
            assert_eq!(fast.try_recv().unwrap().seq, seq);
        }
        assert_eq!(r.len(), 2, "a full mailbox first gets time to make room");
        assert_eq!(r.stuck().len(), 1);
        r.flush_overflow();
        assert_eq!(r.len(), 1);
        assert_eq!(r.delivered.dropped_slow, 1);
        assert_eq!(slow.try_recv().unwrap().seq, 1);
        assert_eq!(slow.try_recv().unwrap().seq, 2);
        assert!(matches!(
            slow.try_recv(),
            Err(mpsc::error::TryRecvError::Disconnected)
        ));
    }

    #[test]
    fn overflowed_frames_follow_in_order_once_there_is_room() {
        let (org, p, d) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let mut r = Registry::default();
        let (_, mut rx) = r.add(
            Filter {
                user_id: Uuid::new_v4(),
                scope: scope(&[org], &[]),
                deployment: None,
            },
            2,
            0,
        );
        for seq in 1..=4 {
            r.dispatch(&frame(seq, org, p, d));
        }
        assert_eq!(r.stuck()[0].1, 2);
        assert_eq!(rx.try_recv().unwrap().seq, 1);
        assert_eq!(rx.try_recv().unwrap().seq, 2);
        r.flush_overflow();
        assert_eq!(r.len(), 1, "it made room in time: still subscribed");
        assert_eq!(rx.try_recv().unwrap().seq, 3);
        assert_eq!(rx.try_recv().unwrap().seq, 4);
        assert!(r.stuck().is_empty());
    }

    #[test]
    fn a_new_scope_takes_effect_at_once() {
        let (org, p, d) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let mut r = Registry::default();
        let (id, mut rx) = r.add(
            Filter {
                user_id: Uuid::new_v4(),
                scope: scope(&[], &[p]),
                deployment: None,
            },
            8,
            0,
        );
        r.dispatch(&frame(1, org, p, d));
        r.set_scope(id, scope(&[], &[]));
        r.dispatch(&frame(2, org, p, d));
        assert_eq!(rx.try_recv().unwrap().seq, 1);
        assert!(rx.try_recv().is_err());
    }
}
