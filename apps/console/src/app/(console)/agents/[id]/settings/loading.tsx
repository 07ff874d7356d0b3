import { SettingsSkeleton } from '@/components/agents/settings-skeleton';

export default function AgentSettingsLoading() {
  return <SettingsSkeleton />;
}
