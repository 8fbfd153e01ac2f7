// Renderer entry: mounts the app into #app (the preload has installed window.quantfit by now).
import { mount } from 'svelte';
import App from './App.svelte';
import './app.css';

const target = document.getElementById('app');
if (!target) throw new Error('#app element missing');
export default mount(App, { target });
