//! Connections stored densely: a slab of entries plus a small id → slot map. A `HashMap<Id,
//! Entry>` keeps a power-of-two table of whole entries, up to twice what is in use; here the
//! big array grows by what is in use and only 8-byte index entries pay the hash table's slack.

use crate::id::{Id, IdMap};

/// Entries (connections with whatever the reactor keeps beside each) by id.
pub(crate) struct ConnTable<T> {
    index: IdMap<u32>,
    slots: Vec<Option<T>>,
    free: Vec<u32>,
}

impl<T> Default for ConnTable<T> {
    fn default() -> Self {
        ConnTable {
            index: IdMap::default(),
            slots: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> ConnTable<T> {
    pub fn get(&self, id: &Id) -> Option<&T> {
        let slot = *self.index.get(id)?;
        self.slots.get(slot as usize)?.as_ref()
    }

    pub fn get_mut(&mut self, id: &Id) -> Option<&mut T> {
        let slot = *self.index.get(id)?;
        self.slots.get_mut(slot as usize)?.as_mut()
    }

    pub fn insert(&mut self, id: Id, entry: T) {
        drop(self.remove(&id));
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = Some(entry);
                s
            }
            None => {
                self.slots.push(Some(entry));
                (self.slots.len() - 1) as u32
            }
        };
        self.index.insert(id, slot);
    }

    pub fn remove(&mut self, id: &Id) -> Option<T> {
        let slot = self.index.remove(id)?;
        let entry = self.slots.get_mut(slot as usize)?.take();
        self.free.push(slot);
        if self.index.is_empty() {
            // Everything closed: give the memory back.
            *self = ConnTable::default();
        }
        entry
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Every entry with its id.
    #[cfg_attr(not(feature = "http"), allow(dead_code))] // used by the HTTP layers
    pub fn iter(&self) -> impl Iterator<Item = (Id, &T)> {
        self.index
            .iter()
            .filter_map(|(id, slot)| Some((*id, self.slots.get(*slot as usize)?.as_ref()?)))
    }

    /// Removes and yields every entry.
    pub fn drain(&mut self) -> impl Iterator<Item = (Id, T)> {
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

    #[test]
    fn slots_are_reused_and_ids_stay_distinct() {
        let mut t = ConnTable::default();
        t.insert(10, 'a');
        t.insert(11, 'b');
        assert_eq!(t.len(), 2);
        assert_eq!(t.remove(&10), Some('a'));
        assert!(t.get(&10).is_none());
        t.insert(12, 'c');
        assert_eq!(t.get(&12), Some(&'c'));
        assert_eq!(t.get(&11), Some(&'b'));
        assert_eq!(t.drain().count(), 2);
        assert!(t.is_empty());
    }
}
