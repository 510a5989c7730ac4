import { createContext, useContext } from 'react';
import type { Preferences } from '../preferences';

export interface PreferencesControl {
  preferences: Preferences;
  setPreferences: (next: Preferences) => void;
}

export const PreferencesContext = createContext<PreferencesControl | null>(null);

export function usePreferences(): PreferencesControl {
  const control = useContext(PreferencesContext);
  if (control === null) throw new Error('usePreferences needs a PreferencesContext provider');
  return control;
}
