import { useMemo, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useSearchParams } from 'react-router';
import { userLabel, type UserHit, type Workspace, type WorkspaceMember } from '@cairn/sdk';
import { api } from '../../api.js';
import { useAction, useLoad } from '../../hooks.js';
import { useUser } from '../../session.js';
import { Alert, Button, ConfirmButton, ErrorAlert, LoadedList, Section, TextField } from '../../components/ui.js';
import { UserPicker } from '../../components/UserPicker.js';
import './workspaces.css';

const ROLES = ['viewer', 'member', 'manager'] as const;
type Role = (typeof ROLES)[number];

/** Workspaces in tree order with their depth: parents first, children indented under them. */
function tree(list: Workspace[]): { w: Workspace; depth: number }[] {
  const byParent = new Map<string | null, Workspace[]>();
  const ids = new Set(list.map((w) => w.id));
  for (const w of list) {
    // A workspace whose parent the caller cannot see starts a tree of its own.
    const p = w.parentId && ids.has(w.parentId) ? w.parentId : null;
    byParent.set(p, [...(byParent.get(p) ?? []), w]);
  }
  const out: { w: Workspace; depth: number }[] = [];
  const walk = (parent: string | null, depth: number) => {
    for (const w of (byParent.get(parent) ?? []).sort((a, b) => a.name.localeCompare(b.name))) {
      out.push({ w, depth });
      walk(w.id, depth + 1);
    }
  };
  walk(null, 0);
  return out;
}

/**
 * Workspaces in the browser: the tree the caller can see, creating (top level for admins, inside
 * one you manage for managers), renaming, and members with roles picked by name.
 */
export function WorkspacesPage() {
  const { t } = useTranslation();
  const { user, can } = useUser();
  const [params, setParams] = useSearchParams();
  const list = useLoad(() => api.workspaces.list());
  const rows = useMemo(() => tree(list.data ?? []), [list.data]);
  const selectedId = params.get('w');
  const selected = list.data?.find((w) => w.id === selectedId);
  const canWrite = can('workspaces:write') || can('workspaces:manage');
  const parents = (list.data ?? []).filter((w) => w.role === 'manager');
  const canCreate = canWrite && (can('workspaces:manage') || parents.length > 0);
  const select = (id: string) => setParams(id ? { w: id } : {});

  return (
    <div className="page">
      <h1>{t('people.workspaces.title')}</h1>
      <p className="lead">{t('people.workspaces.intro')}</p>
      <div className="grid-2">
        <Section title={t('people.workspaces.list')}>
          <LoadedList load={list} empty={t('people.workspaces.empty')}>
            {() => (
              <ul className="ws-tree">
                {rows.map(({ w, depth }) => (
                  <li key={w.id} style={{ paddingInlineStart: `${Math.min(depth, 6) * 1.1}rem` }}>
                    <button type="button" className={`ws-item${w.id === selectedId ? ' active' : ''}`} aria-current={w.id === selectedId ? 'true' : undefined} onClick={() => select(w.id)}>
                      <span className="ws-name">{w.name}</span>
                      {w.role && <span className="pill">{t(`people.workspaces.roles.${w.role}`)}</span>}
                    </button>
                  </li>
                ))}
              </ul>
            )}
          </LoadedList>
          {list.data?.length === 0 && <p className="muted">{t('people.workspaces.emptyAsk', { username: user.username })}</p>}
        </Section>
        {canCreate && (
          <CreateWorkspace
            parents={can('workspaces:manage') ? (list.data ?? []) : parents}
            topLevel={can('workspaces:manage')}
            initialParent={selected?.role === 'manager' ? selected.id : ''}
            onCreated={(w) => {
              void list.reload();
              select(w.id);
            }}
          />
        )}
      </div>
      {selected ? (
        <WorkspacePanel key={selected.id} workspace={selected} canWrite={canWrite} onRenamed={() => void list.reload()} />
      ) : (
        list.data && list.data.length > 0 && <p className="muted">{t('people.workspaces.choose')}</p>
      )}
    </div>
  );
}

function CreateWorkspace({ parents, topLevel, initialParent, onCreated }: { parents: Workspace[]; topLevel: boolean; initialParent: string; onCreated: (w: Workspace) => void }) {
  const { t } = useTranslation();
  const [name, setName] = useState('');
  const [parentId, setParentId] = useState(initialParent || (topLevel ? '' : (parents[0]?.id ?? '')));
  const [done, setDone] = useState<string>();
  const create = useAction(async () => {
    const w = await api.workspaces.create({ name: name.trim(), parentId: parentId || null });
    setDone(w.name);
    setName('');
    onCreated(w);
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setDone(undefined);
    void create.run();
  };
  return (
    <Section title={t('people.workspaces.create')}>
      <form onSubmit={submit} className="stack">
        {done && <Alert kind="success">{t('people.workspaces.created', { name: done })}</Alert>}
        <ErrorAlert error={create.error} />
        <TextField label={t('people.workspaces.name')} required maxLength={120} value={name} onChange={(e) => setName(e.target.value)} />
        <div className="field">
          <label htmlFor="ws-parent">{t('people.workspaces.parent')}</label>
          <select id="ws-parent" value={parentId} onChange={(e) => setParentId(e.target.value)}>
            {topLevel && <option value="">{t('people.workspaces.topLevel')}</option>}
            {parents.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </div>
        <Button type="submit" variant="primary" pending={create.pending}>
          {t('people.workspaces.createSubmit')}
        </Button>
      </form>
    </Section>
  );
}

function WorkspacePanel({ workspace, canWrite, onRenamed }: { workspace: Workspace; canWrite: boolean; onRenamed: () => void }) {
  const { t } = useTranslation();
  const manager = canWrite && workspace.role === 'manager';
  const members = useLoad(() => api.workspaces.members(workspace.id));
  const [name, setName] = useState(workspace.name);
  const [notice, setNotice] = useState<string>();
  const [person, setPerson] = useState<UserHit | null>(null);
  const [role, setRole] = useState<Role>('member');
  const [removing, setRemoving] = useState<string>();
  const roleName = (r: string) => t(`people.workspaces.roles.${r}`);

  const rename = useAction(async () => {
    const w = await api.workspaces.rename(workspace.id, name.trim());
    setNotice(t('people.workspaces.renamed', { name: w.name }));
    onRenamed();
  });
  const change = useAction(async (userId: string, r: Role, label?: string) => {
    await api.workspaces.setMember(workspace.id, userId, r);
    if (label) setNotice(t('people.workspaces.added', { name: label, role: roleName(r).toLowerCase() }));
    await members.reload();
  });
  const remove = useAction(async (userId: string) => {
    await api.workspaces.removeMember(workspace.id, userId);
    setRemoving(undefined);
    await members.reload();
  });
  const add = async (e: FormEvent) => {
    e.preventDefault();
    if (!person) return;
    setNotice(undefined);
    await change.run(person.id, role, userLabel(person));
    setPerson(null);
  };

  return (
    <Section title={workspace.name} actions={workspace.role ? <span className="pill">{`${t('people.workspaces.yourRole')}: ${roleName(workspace.role)}`}</span> : undefined}>
      {notice && <Alert kind="success">{notice}</Alert>}
      {manager && (
        <form
          className="row ws-rename"
          onSubmit={(e) => {
            e.preventDefault();
            setNotice(undefined);
            void rename.run();
          }}
        >
          <TextField label={t('people.workspaces.name')} required maxLength={120} value={name} onChange={(e) => setName(e.target.value)} />
          <Button type="submit" pending={rename.pending} disabled={name.trim() === workspace.name}>
            {t('people.workspaces.renameSubmit')}
          </Button>
        </form>
      )}
      <ErrorAlert error={rename.error} />
      <h3>{t('people.workspaces.members')}</h3>
      <p className="muted small">{t('people.workspaces.inherited')}</p>
      <LoadedList load={members} error={change.error ?? remove.error} empty={t('people.workspaces.noMembers')}>
        {(items: WorkspaceMember[]) => (
          <ul className="ws-members">
            {items.map((m) => (
              <li key={m.userId}>
                <span className="ws-person">
                  <strong>{m.displayName ?? m.username}</strong>
                  {m.displayName && <span className="muted small"> {m.username}</span>}
                </span>
                {manager ? (
                  <span className="row">
                    <select aria-label={t('people.workspaces.role')} value={m.role} onChange={(e) => void change.run(m.userId, e.target.value as Role)}>
                      {ROLES.map((r) => (
                        <option key={r} value={r}>
                          {roleName(r)}
                        </option>
                      ))}
                    </select>
                    <ConfirmButton
                      open={removing === m.userId}
                      onAsk={() => setRemoving(m.userId)}
                      variant="ghost"
                      question={t('people.workspaces.confirmRemove', { name: m.displayName ?? m.username })}
                      action={t('people.workspaces.remove')}
                      pending={remove.pending}
                      onConfirm={() => void remove.run(m.userId)}
                      onCancel={() => setRemoving(undefined)}
                    />
                  </span>
                ) : (
                  <span className="pill">{roleName(m.role)}</span>
                )}
              </li>
            ))}
          </ul>
        )}
      </LoadedList>
      {manager && (
        <form className="ws-add" onSubmit={(e) => void add(e)}>
          <UserPicker label={t('people.workspaces.person')} value={person} onChange={setPerson} exclude={members.data?.map((m) => m.userId)} required />
          <div className="field">
            <label htmlFor={`ws-role-${workspace.id}`}>{t('people.workspaces.role')}</label>
            <select id={`ws-role-${workspace.id}`} value={role} onChange={(e) => setRole(e.target.value as Role)}>
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {roleName(r)}
                </option>
              ))}
            </select>
          </div>
          <Button type="submit" variant="primary" pending={change.pending} disabled={!person}>
            {t('people.workspaces.add')}
          </Button>
          <p className="muted small ws-help">{t('people.workspaces.roleHelp')}</p>
        </form>
      )}
    </Section>
  );
}
