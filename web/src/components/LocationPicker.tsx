import { useTranslation } from 'react-i18next';
import { locationLabel, type Location, type LocationKind } from '@cairn/sdk';
import { api } from '../api.js';
import { Combobox, type PickerFieldProps } from './Combobox.js';

export interface LocationPickerProps extends PickerFieldProps {
  /** The chosen location's id, or null. */
  value: string | null;
  onChange: (id: string | null, location: Location | null) => void;
  /** Only areas or only offices. */
  kind?: LocationKind;
  /** Only places below this location (its id). */
  within?: string;
}

/**
 * Picks a location by name as you type: accents and case do not matter, each choice shows where
 * it is ("Ibombo, Central Province") and whether it is an area or an office.
 */
export function LocationPicker({ kind, within, ...rest }: LocationPickerProps) {
  const { t } = useTranslation();
  return (
    <Combobox<Location>
      {...rest}
      search={(q) => api.locations.search({ q, kind, within, limit: 10 })}
      resolve={(id) => api.locations.get(id)}
      itemKey={(l) => l.id}
      itemText={(l) => locationLabel(l)}
      renderOption={(l) => (
        <>
          <span className="lp-name">{l.name}</span>
          {l.ancestors.length > 0 && <span className="lp-where">{l.ancestors.slice(0, 3).join(', ')}</span>}
          <span className={`lp-kind lp-kind-${l.kind}`}>{t(`locations.picker.kind.${l.kind}`)}</span>
        </>
      )}
      texts={{
        placeholder: t('locations.picker.placeholder'),
        clear: t('locations.picker.clear'),
        searching: t('locations.picker.searching'),
        results: (count) => t('locations.picker.results', { count }),
        none: (q) => t('locations.picker.none', { q }),
        failed: t('locations.picker.failed'),
      }}
    />
  );
}
