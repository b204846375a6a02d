//! Connections stored densely: a slab of `Conn`s plus a small id → slot map. A `HashMap<Id,
//! Conn>` keeps a power-of-two table of whole `Conn`s, up to twice what is in use; here the big
//! array grows by what is in use and only 8-byte index entries pay the hash table's slack.

use crate::id::{Id, IdMap};
use crate::tcp::conn::Conn;

#[derive(Default)]
pub(crate) struct ConnTable {
    index: IdMap<u32>,
    slots: Vec<Option<Conn>>,
    free: Vec<u32>,
}

impl ConnTable {
    pub fn get(&self, id: &Id) -> Option<&Conn> {
        let slot = *self.index.get(id)?;
        self.slots.get(slot as usize)?.as_ref()
    }

    pub fn get_mut(&mut self, id: &Id) -> Option<&mut Conn> {
        let slot = *self.index.get(id)?;
        self.slots.get_mut(slot as usize)?.as_mut()
    }

    pub fn insert(&mut self, id: Id, conn: Conn) {
        if let Some(old) = self.remove(&id) {
            drop(old);
        }
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = Some(conn);
                s
            }
            None => {
                self.slots.push(Some(conn));
                (self.slots.len() - 1) as u32
            }
        };
        self.index.insert(id, slot);
    }

    pub fn remove(&mut self, id: &Id) -> Option<Conn> {
        let slot = self.index.remove(id)?;
        let conn = self.slots.get_mut(slot as usize)?.take();
        self.free.push(slot);
        if self.index.is_empty() {
            // Everything closed: give the memory back.
            *self = ConnTable::default();
        }
        conn
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Every connection with its id.
    pub fn iter(&self) -> impl Iterator<Item = (Id, &Conn)> {
        self.index
            .iter()
            .filter_map(|(id, slot)| Some((*id, self.slots.get(*slot as usize)?.as_ref()?)))
    }

    /// Removes and yields every connection.
    pub fn drain(&mut self) -> impl Iterator<Item = (Id, Conn)> {
        let mut table = std::mem::take(self);
        let ids: Vec<(Id, u32)> = table.index.drain().collect();
        ids.into_iter().filter_map(move |(id, slot)| {
            table.slots.get_mut(slot as usize)?.take().map(|c| (id, c))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::conn::Phase;

    #[test]
    fn slots_are_reused_and_ids_stay_distinct() {
        let mut t = ConnTable::default();
        t.insert(10, Conn::new(0, Phase::Open));
        t.insert(11, Conn::new(1, Phase::Open));
        assert_eq!(t.len(), 2);
        assert!(t.remove(&10).is_some());
        assert!(t.get(&10).is_none());
        t.insert(12, Conn::new(2, Phase::Open));
        assert_eq!(t.get(&12).map(|c| c.server), Some(2));
        assert_eq!(t.get(&11).map(|c| c.server), Some(1));
        assert_eq!(t.drain().count(), 2);
        assert!(t.is_empty());
    }

    #[test]
    fn an_idle_connection_is_small() {
        // The idle-connection budget is 512 bytes all told, JS included; the engine keeps ~120
        // of them (the peer address, kept for error messages, is a quarter of that; the HTTP
        // server and client states are one pointer each, allocated only for their sockets).
        let size = std::mem::size_of::<Option<Conn>>();
        assert!(size <= 120, "Conn is {size} bytes");
    }
}
