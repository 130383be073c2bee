/**
 * In-process fan-out: who receives which frame. One process per database (SPEC §1), so every
 * socket of a dialog lives here; a multi-node deployment replaces this module behind the same
 * interface. Memberships are removed when sockets close, so the maps never outgrow the sockets.
 */
import type { DialogFrame, ServerFrame } from '@postern/protocol';

/** A socket as fan-out sees it. */
export interface Member {
  readonly id: string;
  deliver(frame: ServerFrame): void;
}

/** An operator socket: it also receives `dialog` frames for the sites it covers. */
export interface OperatorMember extends Member {
  covers(siteId: string): boolean;
}

export interface Fanout {
  /** Adds a socket to a dialog; answers the function that removes it. */
  join(dialogId: string, member: Member): () => void;
  /** Adds an operator socket to the feed of dialog changes. */
  joinFeed(member: OperatorMember): () => void;
  /** Delivers a frame to every socket of the dialog, optionally but one. */
  toDialog(dialogId: string, frame: ServerFrame, exceptId?: string): void;
  /** Delivers a dialog change to every operator socket covering its site. */
  toFeed(frame: DialogFrame): void;
  /** Whether a socket is joined to a dialog. */
  isMember(dialogId: string, memberId: string): boolean;
  /** Sockets joined to a dialog (for limits and tests). */
  membersOf(dialogId: string): number;
  /** Dialogs with a member, memberships and feed sockets right now (for leak checks). */
  readonly size: { readonly dialogs: number; readonly members: number; readonly feed: number };
}

export function createFanout(): Fanout {
  const dialogs = new Map<string, Map<string, Member>>();
  const feed = new Map<string, OperatorMember>();

  return {
    join(dialogId, member) {
      let members = dialogs.get(dialogId);
      if (!members) {
        members = new Map();
        dialogs.set(dialogId, members);
      }
      members.set(member.id, member);
      return () => {
        const current = dialogs.get(dialogId);
        if (!current) return;
        current.delete(member.id);
        if (current.size === 0) dialogs.delete(dialogId);
      };
    },
    joinFeed(member) {
      feed.set(member.id, member);
      return () => void feed.delete(member.id);
    },
    toDialog(dialogId, frame, exceptId) {
      const members = dialogs.get(dialogId);
      if (!members) return;
      for (const member of [...members.values()]) {
        if (member.id !== exceptId) member.deliver(frame);
      }
    },
    toFeed(frame) {
      for (const member of [...feed.values()]) {
        if (member.covers(frame.site_id)) member.deliver(frame);
      }
    },
    isMember: (dialogId, memberId) => dialogs.get(dialogId)?.has(memberId) ?? false,
    membersOf: (dialogId) => dialogs.get(dialogId)?.size ?? 0,
    get size() {
      let members = 0;
      for (const joined of dialogs.values()) members += joined.size;
      return { dialogs: dialogs.size, members, feed: feed.size };
    },
  };
}
