import { useTranslation } from 'react-i18next';
import type { UserHit } from '@cairn/sdk';
import { api } from '../api.js';
import { Combobox, type PickerFieldProps } from './Combobox.js';

export interface UserPickerProps extends PickerFieldProps {
  /** The chosen person, or null. */
  value: UserHit | null;
  onChange: (user: UserHit | null) => void;
  /** People not to offer (e.g. those already members). */
  exclude?: readonly string[];
}

/**
 * Picks a person by name or username as you type: never a UUID. The server decides who can be
 * found (docs/workspaces.md, "Finding people"): an administrator finds everyone, others find the
 * people of their workspace trees, and anyone by their exact username.
 */
export function UserPicker({ value, onChange, exclude, ...rest }: UserPickerProps) {
  const { t } = useTranslation();
  return (
    <Combobox<UserHit>
      {...rest}
      className="user-picker"
      value={value?.id ?? null}
      onChange={(_id, u) => onChange(u)}
      search={async (q) => (await api.users.search(q, { limit: 10 })).filter((u) => !exclude?.includes(u.id))}
      itemKey={(u) => u.id}
      itemText={(u) => (u.displayName ? `${u.displayName} (${u.username})` : u.username)}
      renderOption={(u) => (
        <>
          <span className="lp-name">{u.displayName ?? u.username}</span>
          {u.displayName && <span className="lp-where">{u.username}</span>}
        </>
      )}
      texts={{
        placeholder: t('people.picker.placeholder'),
        clear: t('people.picker.clear'),
        searching: t('people.picker.searching'),
        results: (count) => t('people.picker.results', { count }),
        none: (q) => t('people.picker.none', { q }),
        failed: t('people.picker.failed'),
      }}
    />
  );
}
